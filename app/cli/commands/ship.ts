import path from 'node:path';
import { Command } from 'commander';
import { startFileTail, type FileTail } from '../../../connectors/sources/file-tail/index.js';
import { createBus } from '../../../pipeline/bus/index.js';
import { TallyError } from '../../../pipeline/errors.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { startOps, type KindCounts } from '../../../pipeline/runtime/ops.js';
import { installShutdown } from '../../../pipeline/runtime/shutdown.js';
import { deadLetterTopic, ensureTopics, rawTopic } from '../../../pipeline/topics.js';
import { collect, contextFrom } from '../context.js';

export function shipCommand(): Command {
  return new Command('ship')
    .description('tail files Filebeat-style (registry, rotation, copytruncate) into raw.<kind>; a line counts as shipped once Kafka acknowledged it')
    .option('--path <glob>', 'files to tail (repeatable); adds one input besides ship.inputs', collect)
    .option('--kind <kind>', 'kind of the --path input', 'accounting')
    .option('--registry <file>', 'registry file of the --path input')
    .action(async (options: { path?: string[]; kind: string; registry?: string }, command: Command) => {
      const { config, log } = contextFrom(command);
      const inputs: Record<string, unknown>[] = [...config.ship.inputs];
      if (options.path?.length) inputs.push({ paths: options.path, kind: options.kind, ...(options.registry ? { registryPath: options.registry } : {}) });
      if (inputs.length === 0) throw new TallyError('USAGE', 'nothing to ship: give --path <glob> or configure ship.inputs');
      const ops = await startOps({ ops: config.ops, log, stage: 'ship' });
      const bus = createBus(config.kafka, log);
      const registryDir = path.resolve(projectRoot, config.services.dir, 'registry');
      const kinds = inputs.map((input) => String(input.kind ?? 'accounting'));
      await ensureTopics(bus, config.topics, kinds.flatMap((kind) => [rawTopic(kind), deadLetterTopic(kind)]));
      const producer = await bus.producer();
      const tails: FileTail[] = [];
      for (const [i, input] of inputs.entries()) {
        const registryPath = input.registryPath ?? path.join(registryDir, `ship.${kinds[i]}.${i}.json`);
        tails.push(await startFileTail({ ...input, registryPath } as Parameters<typeof startFileTail>[0], { bus, log, producer }));
      }
      for (const tail of tails) process.stdout.write(`tally ship: ${tail.config.paths.join(', ')} → ${bus.topic(rawTopic(tail.config.kind))} (registry ${tail.config.registryPath})\n`);
      ops.started({
        source: () => {
          let position = 0;
          let pending = 0;
          let failures = 0;
          for (const s of tails.map((t) => t.stats())) {
            const acked = s.linesSent + s.deadLetters.tooLarge + s.deadLetters.invalidUtf8;
            position += acked;
            pending += s.linesRead - s.linesFiltered - s.linesEmpty - acked;
            failures += s.sendRetries;
          }
          return { position, pending, failures };
        },
        counts: () => {
          const kinds: Record<string, KindCounts> = {};
          let retries = 0;
          for (const tail of tails) {
            const s = tail.stats();
            const letters = s.deadLetters.tooLarge + s.deadLetters.invalidUtf8;
            const k = (kinds[tail.config.kind] ??= { in: 0, out: 0, rejected: 0, deadLettered: 0, retried: 0, skipped: { filtered: 0, empty: 0 } });
            k.in = (k.in ?? 0) + s.linesRead;
            k.out = (k.out ?? 0) + s.linesSent;
            k.rejected = (k.rejected ?? 0) + letters;
            k.deadLettered = (k.deadLettered ?? 0) + letters;
            k.retried = (k.retried ?? 0) + s.sendRetries;
            k.skipped = { filtered: (k.skipped?.filtered ?? 0) + s.linesFiltered, empty: (k.skipped?.empty ?? 0) + s.linesEmpty };
            retries += s.sendRetries;
          }
          return { kinds, kafkaErrors: { KAFKA_RETRIABLE: retries } };
        },
      });
      installShutdown(log, config.shutdown.drainTimeoutMs, [
        async () => ops.draining(),
        async (deadline) => {
          for (const tail of tails) await tail.stop({ deadlineMs: Math.max(0, deadline - Date.now()) });
          await producer.close();
          log.info({ stats: tails.map((t) => t.stats()) }, 'ship stopped');
        },
        () => ops.close(),
      ]);
    });
}
