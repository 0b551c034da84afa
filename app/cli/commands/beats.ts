import { Command } from 'commander';
import { resolveBeatsConfig } from '../../../connectors/sources/beats/config.js';
import { startBeatsServer } from '../../../connectors/sources/beats/server.js';
import { createBus } from '../../../pipeline/bus/index.js';
import { startOps } from '../../../pipeline/runtime/ops.js';
import { installShutdown } from '../../../pipeline/runtime/shutdown.js';
import { deadLetterTopic, ensureTopics, rawTopic } from '../../../pipeline/topics.js';
import { contextFrom } from '../context.js';

export function beatsCommand(): Command {
  return new Command('beats')
    .description("lumberjack v2 server for Filebeat's output.logstash (TLS and client certificates optional); a window is acknowledged only after Kafka acknowledged its events")
    .option('--port <port>', 'listen port (beats.port, default 5044)')
    .option('--kind <kind>', 'kind of the events (beats.kind, default accounting)')
    .action(async (options: { port?: string; kind?: string }, command: Command) => {
      const { config, log } = contextFrom(command);
      const beats = resolveBeatsConfig({ ...config.beats, ...(options.port ? { port: Number(options.port) } : {}), ...(options.kind ? { kind: options.kind } : {}) });
      const ops = await startOps({ ops: config.ops, log, stage: 'beats' });
      const bus = createBus(config.kafka, log);
      await ensureTopics(bus, config.topics, [rawTopic(beats.kind), deadLetterTopic(beats.kind)]);
      const server = await startBeatsServer({ config: beats, bus, log });
      process.stdout.write(`tally beats listening on ${server.host}:${server.port}${server.tls ? ' (TLS)' : ''} → ${bus.topic(rawTopic(beats.kind))}\n`);
      ops.started({
        source: () => ({ position: server.stats().events, failures: server.stats().retries }),
        counts: () => {
          const s = server.stats();
          return { kinds: { [beats.kind]: { in: s.events, out: s.events - s.rejected, rejected: s.rejected, deadLettered: s.rejected, retried: s.retries } }, kafkaErrors: { KAFKA_RETRIABLE: s.retries } };
        },
      });
      installShutdown(log, config.shutdown.drainTimeoutMs, [
        async () => ops.draining(),
        async (deadline) => {
          await server.close({ timeoutMs: Math.max(0, deadline - Date.now()) });
          log.info({ stats: server.stats() }, 'beats stopped');
        },
        () => ops.close(),
      ]);
    });
}
