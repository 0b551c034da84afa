import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { resolveArchiveConfig, type ArchiveConfigInput } from '../../../connectors/sinks/archive/config.js';
import { archiveIndexPattern, installArchiveTemplate } from '../../../connectors/sinks/archive/setup.js';
import { startArchive, type RunningArchive } from '../../../connectors/sinks/archive/stage.js';
import { describeTemplateInstall, type TemplateInstall } from '../../../connectors/sinks/elasticsearch/setup.js';
import { createBus } from '../../../pipeline/bus/index.js';
import type { TallyConfig } from '../../../pipeline/config/types.js';
import { createEsClient } from '../../../pipeline/elasticsearch/client.js';
import { TallyError, isTallyError, messageOf } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';
import { installShutdown } from '../../../pipeline/runtime/shutdown.js';
import { contextFrom } from '../context.js';

interface ArchiveFlags {
  group?: string;
  minLevel?: string;
  windowSeconds?: number;
  requestWindowSeconds?: number;
  latenessSeconds?: number;
  idleSeconds?: number;
  maxBufferedEvents?: number;
}

const number = (flag: string) => (value: string): number => {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new TallyError('USAGE', `${flag} takes a number, not "${value}"`);
  return parsed;
};

export function archiveCommand(): Command {
  return new Command('archive')
    .description('copy every WARNING-or-higher ops.logs event, with its request and the requests in flight on its service around it, into <prefix>ops-archive-*, until SIGTERM')
    .option('--group <id>', 'consumer group (archive.groupId); run one archive process per topic: a second member would see only part of each service')
    .option('--min-level <level>', 'the lowest level that triggers archiving (archive.minLevel, default WARNING)')
    .option('--window-seconds <n>', '± seconds around a trigger in which requests on its service count as in flight (archive.windowSeconds, default 60)', number('--window-seconds'))
    .option('--request-window-seconds <n>', '± seconds around a trigger from which its own request is archived (archive.requestWindowSeconds, default the window)', number('--request-window-seconds'))
    .option('--lateness-seconds <n>', 'how far behind the newest event time an event may arrive (archive.latenessSeconds, default 30)', number('--lateness-seconds'))
    .option('--idle-seconds <n>', 'a partition quiet this long stops holding event time back (archive.idleSeconds, default 10)', number('--idle-seconds'))
    .option('--max-buffered-events <n>', 'events held as possible context (archive.maxBufferedEvents, default 50000)', number('--max-buffered-events'))
    .action(async (flags: ArchiveFlags, command: Command) => {
      const { config, log } = contextFrom(command);
      const archive = resolveArchiveConfig({ ...archiveSection(config), ...definedFlags(flags) });
      const prefix = config.elasticsearch.indexPrefix;
      const client = createEsClient(config.elasticsearch);
      let stage: RunningArchive | undefined;
      const shutdown = installShutdown(log, config.shutdown.drainTimeoutMs, [
        async () => {
          await stage?.stop();
          if (stage) log.info({ stats: stage.stats() }, 'archive stopped');
        },
        () => client.close(),
      ]);

      const install = await installWhenReachable(() => installArchiveTemplate(client, prefix), log, shutdown.stopping);
      if (!install) return;
      for (const line of describeTemplateInstall(config.elasticsearch.url, install)) process.stdout.write(`${line}\n`);
      const bus = createBus(config.kafka, log);
      stage = await startArchive({ bus, client, log, config: archive, indexPrefix: prefix, requestTimeoutMs: config.elasticsearch.requestTimeoutMs, elasticsearch: config.elasticsearch, topics: config.topics });
      if (shutdown.stopping()) await stage.stop();
      const request = archive.requestWindowSeconds === archive.windowSeconds ? '' : `, its own request ±${archive.requestWindowSeconds} s`;
      process.stdout.write(`tally archive: ${bus.topic('ops.logs')} → ${config.elasticsearch.url} ${archiveIndexPattern(prefix)}, ${archive.minLevel} and above with the requests in flight on their service ±${archive.windowSeconds} s${request}, consumer group ${archive.groupId}\n`);
    });
}

/** The `archive` section of the configuration file, once the configuration schema has one. */
function archiveSection(config: TallyConfig): Record<string, unknown> {
  const section = (config as TallyConfig & { archive?: unknown }).archive;
  return typeof section === 'object' && section !== null ? (section as Record<string, unknown>) : {};
}

function definedFlags(flags: ArchiveFlags): ArchiveConfigInput {
  const input: Record<string, unknown> = {};
  const map: [keyof ArchiveFlags, string][] = [['group', 'groupId'], ['minLevel', 'minLevel'], ['windowSeconds', 'windowSeconds'], ['requestWindowSeconds', 'requestWindowSeconds'], ['latenessSeconds', 'latenessSeconds'], ['idleSeconds', 'idleSeconds'], ['maxBufferedEvents', 'maxBufferedEvents']];
  for (const [flag, key] of map) if (flags[flag] !== undefined) input[key] = flags[flag];
  if (typeof input.minLevel === 'string') input.minLevel = input.minLevel.toUpperCase();
  return input as ArchiveConfigInput;
}

/** Elasticsearch may be down when the stage starts: wait for it (templates first), unless told to stop. */
async function installWhenReachable(install: () => Promise<TemplateInstall>, log: Logger, stopping: () => boolean): Promise<TemplateInstall | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await install();
    } catch (error) {
      if (!isTallyError(error) || !error.retriable) throw error;
      const backoffMs = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      log.warn({ attempt, backoffMs }, `Elasticsearch not ready for the archive template yet (${messageOf(error)}); waiting`);
      for (let waited = 0; waited < backoffMs && !stopping(); waited += 250) await sleep(250);
      if (stopping()) return undefined;
    }
  }
}
