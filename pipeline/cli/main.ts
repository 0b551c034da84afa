import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TallyError, isTallyError, messageOf } from '../errors.js';
import { projectRoot } from '../paths.js';
import { collect } from './context.js';
import { servicesCommand } from './commands/services.js';
import { upCommand } from './commands/up.js';
import { httpCommand } from './commands/http.js';
import { shipCommand } from './commands/ship.js';
import { beatsCommand } from './commands/beats.js';
import { transformCommand } from './commands/transform.js';
import { convertCommand } from './commands/convert.js';
import { sinkCommand } from './commands/sink.js';
import { setupCommand } from './commands/setup.js';
import { reportCommand } from './commands/report.js';
import { dlqCommand } from './commands/dlq.js';
import { archiveCommand } from './commands/archive.js';
import { benchCommand } from './commands/bench.js';
import { apelQueueCommand } from './commands/apel-queue.js';
import { expandCommand, formatCommand } from './commands/format.js';

const version = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

export function buildProgram(): Command {
  const program = new Command('tally')
    .description('Stream pipeline for cloud accounting and audit data: sources → Kafka → transform (Avro) → Elasticsearch and APEL')
    .version(version)
    .option('-c, --config <file>', 'YAML configuration file (also TALLY_CONFIG)')
    .option('--set <key=value>', 'override one configuration key, e.g. --set kafka.backend=rdkafka (repeatable)', collect)
    .option('--brokers <list>', 'Kafka bootstrap servers, comma-separated (also KAFKA_BROKERS)')
    .option('--es-url <url>', 'Elasticsearch URL (also ELASTICSEARCH_URL)')
    .option('--backend <name>', 'Kafka client backend: kafkajs or rdkafka')
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent')
    .option('--ops-port <port>', 'serve /metrics, /healthz and /readyz on this port (ops.port; 0 = off)')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });

  program.addCommand(upCommand());
  program.addCommand(servicesCommand());
  program.addCommand(shipCommand());
  program.addCommand(beatsCommand());
  program.addCommand(httpCommand());
  program.addCommand(apelQueueCommand());
  program.addCommand(transformCommand());
  program.addCommand(sinkCommand());
  program.addCommand(setupCommand());
  program.addCommand(convertCommand());
  program.addCommand(reportCommand());
  program.addCommand(archiveCommand());
  program.addCommand(formatCommand());
  program.addCommand(expandCommand());
  program.addCommand(dlqCommand());
  program.addCommand(benchCommand());
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    reportFatal(error);
  }
}

function reportFatal(error: unknown): void {
  if (isTallyError(error)) {
    process.stderr.write(`tally: ${error.code}: ${error.message}\n`);
    process.exitCode = error.code === 'NOT_BUILT' ? 3 : error.code === 'USAGE' ? 2 : 1;
    return;
  }
  process.stderr.write(`tally: unexpected error: ${messageOf(error)}\n${error instanceof Error && error.stack ? error.stack : ''}\n`);
  process.exitCode = 1;
}

export { TallyError };

await main(process.argv);
