import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../pipeline/paths.js';
import { collect } from './context.js';

const version = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Every command, in help order, each loaded only when needed: a stage imports only its own
 * modules (the Kafka clients, the Elasticsearch client, avsc, the normalisers' schemas), so it
 * starts sooner and smaller.
 */
const commands: readonly [string, () => Promise<Command>][] = [
  ['up', async () => (await import('./commands/up.js')).upCommand()],
  ['services', async () => (await import('./commands/services.js')).servicesCommand()],
  ['ship', async () => (await import('./commands/ship.js')).shipCommand()],
  ['beats', async () => (await import('./commands/beats.js')).beatsCommand()],
  ['http', async () => (await import('./commands/http.js')).httpCommand()],
  ['apel-queue', async () => (await import('./commands/apel-queue.js')).apelQueueCommand()],
  ['transform', async () => (await import('./commands/transform.js')).transformCommand()],
  ['sink', async () => (await import('./commands/sink.js')).sinkCommand()],
  ['setup', async () => (await import('./commands/setup.js')).setupCommand()],
  ['convert', async () => (await import('./commands/convert.js')).convertCommand()],
  ['report', async () => (await import('./commands/report.js')).reportCommand()],
  ['archive', async () => (await import('./commands/archive.js')).archiveCommand()],
  ['format', async () => (await import('./commands/format.js')).formatCommand()],
  ['expand', async () => (await import('./commands/format.js')).expandCommand()],
  ['dlq', async () => (await import('./commands/dlq.js')).dlqCommand()],
  ['schemas', async () => (await import('./commands/schemas.js')).schemasCommand()],
  ['bench', async () => (await import('./commands/bench.js')).benchCommand()],
];

/** The command argv names (after the global options and their values), if it is one of ours. */
export function commandNamed(program: Command, args: string[]): string | undefined {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] as string;
    if (!arg.startsWith('-')) return commands.some(([name]) => name === arg) ? arg : undefined;
    if (arg === '--') return undefined;
    const option = program.options.find((o) => o.long === arg || o.short === arg);
    if (option && (option.required || option.optional) && !arg.includes('=')) i += 1;
  }
  return undefined;
}

/** The program with the command argv names, or every command when it names none (help, version, a typo). */
export async function buildProgram(args: string[] = []): Promise<Command> {
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
  const named = commandNamed(program, args);
  for (const [name, load] of commands) if (named === undefined || name === named) program.addCommand(await load());

  return program;
}
