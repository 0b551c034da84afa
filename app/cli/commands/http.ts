import { Command } from 'commander';
import { defaultHttpSourceConfig } from '../../../connectors/sources/http/config.js';
import { startHttpSource } from '../../../connectors/sources/http/server.js';
import { createBus } from '../../../pipeline/bus/index.js';
import { startOps } from '../../../pipeline/runtime/ops.js';
import { installShutdown } from '../../../pipeline/runtime/shutdown.js';
import { contextFrom } from '../context.js';

export function httpCommand(): Command {
  return new Command('http')
    .description('HTTP ingest: POST a JSON object, an array or NDJSON to / or /ingest/<kind>; 200 only after Kafka acknowledged')
    .option('--port <port>', 'listen port (http.port)')
    .action(async (options: { port?: string }, command: Command) => {
      const { config, log } = contextFrom(command);
      const ops = await startOps({ ops: config.ops, log, stage: 'http' });
      const bus = createBus(config.kafka, log);
      const source = await startHttpSource({ ...defaultHttpSourceConfig, ...config.http, ...(options.port ? { port: Number(options.port) } : {}) }, { bus, log });
      process.stdout.write(`tally http listening on ${source.url}\n`);
      ops.started({ counts: () => ({ kinds: { all: { in: source.stats().accepted, out: source.stats().accepted, rejected: source.stats().rejected } } }) });
      installShutdown(log, config.shutdown.drainTimeoutMs, [async () => ops.draining(), () => source.close(), () => ops.close()]);
    });
}
