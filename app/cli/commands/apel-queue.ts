import { Command } from 'commander';
import { resolveApelQueueConfig } from '../../../connectors/sources/apel-queue/config.js';
import { startApelQueueSource } from '../../../connectors/sources/apel-queue/source.js';
import { createBus } from '../../../pipeline/bus/index.js';
import { TallyError } from '../../../pipeline/errors.js';
import { startOps } from '../../../pipeline/runtime/ops.js';
import { installShutdown } from '../../../pipeline/runtime/shutdown.js';
import { deadLetterTopic, ensureTopics, rawTopic } from '../../../pipeline/topics.js';
import { contextFrom } from '../context.js';

export function apelQueueCommand(): Command {
  return new Command('apel-queue')
    .description("read cASO's SSM outgoing queue (a dirq QueueSimple directory) into raw.apel-message; an element is removed only after Kafka acknowledged it")
    .option('--path <dir>', 'the queue directory (apelQueue.path), e.g. /var/spool/apel/outgoing/openstack')
    .option('--kind <kind>', 'kind of the messages (apelQueue.kind, default apel-message)')
    .action(async (options: { path?: string; kind?: string }, command: Command) => {
      const { config, log } = contextFrom(command);
      const section = config.apelQueue;
      const merged = { ...section, ...(options.path ? { path: options.path } : {}), ...(options.kind ? { kind: options.kind } : {}) };
      if (typeof merged.path !== 'string') throw new TallyError('USAGE', 'tally apel-queue needs the queue directory: --path <dir> or apelQueue.path in the configuration');
      const queueConfig = resolveApelQueueConfig(merged);
      const ops = await startOps({ ops: config.ops, log, stage: 'apel-queue' });
      const bus = createBus(config.kafka, log);
      await ensureTopics(bus, config.topics, [rawTopic(queueConfig.kind), deadLetterTopic(queueConfig.kind)]);
      const source = await startApelQueueSource(queueConfig, { bus, log });
      process.stdout.write(`tally apel-queue reading ${queueConfig.path} → ${bus.topic(rawTopic(queueConfig.kind))}\n`);
      ops.started({
        source: () => ({ position: source.stats().elements + source.stats().deadLettered, failures: source.stats().retries }),
        counts: () => {
          const s = source.stats();
          return { kinds: { [queueConfig.kind]: { in: s.elements + s.deadLettered, out: s.elements, rejected: s.deadLettered, deadLettered: s.deadLettered, retried: s.retries } }, kafkaErrors: { KAFKA_RETRIABLE: s.retries } };
        },
      });
      installShutdown(log, config.shutdown.drainTimeoutMs, [
        async () => ops.draining(),
        async () => {
          await source.stop();
          log.info({ stats: source.stats() }, 'apel-queue stopped');
        },
        () => ops.close(),
      ]);
    });
}
