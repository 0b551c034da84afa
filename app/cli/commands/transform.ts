import { Command } from 'commander';
import { createBus } from '../../../pipeline/bus/index.js';
import type { KindName } from '../../../pipeline/config/types.js';
import { startOps } from '../../../pipeline/runtime/ops.js';
import { installShutdown } from '../../../pipeline/runtime/shutdown.js';
import { rawTopic } from '../../../pipeline/topics.js';
import { exactlyOnceOf, startTransform } from '../../../pipeline/transform/stage.js';
import { collect, contextFrom } from '../context.js';

export function transformCommand(): Command {
  return new Command('transform')
    .description('validate and normalise raw.<kind> into Avro domain topics; rejects go to dlq.<kind> with every reason')
    .option('--kind <kind>', 'a kind to transform (repeatable; default transform.kinds)', collect)
    .option('--group <id>', 'consumer group (transform.groupId); more processes in one group share the partitions')
    .action(async (options: { kind?: string[]; group?: string }, command: Command) => {
      const { config, log } = contextFrom(command);
      const ops = await startOps({ ops: config.ops, log, stage: 'transform' });
      const bus = createBus(config.kafka, log);
      const kinds = (options.kind?.length ? options.kind : config.transform.kinds) as KindName[];
      const groupId = options.group ?? config.transform.groupId;
      const exactlyOnce = exactlyOnceOf(config.transform, config.kafka, groupId);
      const stage = await startTransform({ bus, log, groupId, kinds, topics: config.topics, maxBatchMessages: config.transform.maxBatchMessages, ...(exactlyOnce ? { exactlyOnce } : {}) });
      ops.started({
        consumer: { bus, groupId, topics: kinds.map((k) => bus.topic(rawTopic(k))), consumer: stage.consumer },
        counts: () => ({ kinds: Object.fromEntries(Object.entries(stage.stats()).map(([kind, c]) => [kind, { in: c.in, out: c.out, rejected: c.rejected, deadLettered: c.rejected, skipped: { tombstone: c.empty } }])) }),
      });
      process.stdout.write(`tally transform running: ${kinds.map((k) => bus.topic(`raw.${k}`)).join(', ')} (group ${options.group ?? config.transform.groupId})\n`);
      installShutdown(log, config.shutdown.drainTimeoutMs, [
        async () => ops.draining(),
        async () => {
          await stage.stop();
          log.info({ stats: stage.stats() }, 'transform stopped');
        },
        () => ops.close(),
      ]);
    });
}
