import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { parseLayout } from '../../../connectors/sinks/elasticsearch/layout.js';
import { describeTemplateInstall, installIndexTemplates, type TemplateInstall } from '../../../connectors/sinks/elasticsearch/setup.js';
import { startElasticsearchSink, type RunningElasticsearchSink } from '../../../connectors/sinks/elasticsearch/sink.js';
import { indexedTopic, type IndexedTopic } from '../../../connectors/sinks/elasticsearch/topics.js';
import { startApelSink } from '../../../connectors/sinks/apel/sink.js';
import { createBus } from '../../../pipeline/bus/index.js';
import type { ElasticsearchConfig } from '../../../pipeline/config/types.js';
import { createEsClient, withEsAccess } from '../../../pipeline/elasticsearch/client.js';
import { TallyError, isTallyError, messageOf } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';
import { startOps } from '../../../pipeline/runtime/ops.js';
import { exitAfterDrain, installShutdown } from '../../../pipeline/runtime/shutdown.js';
import { deadLetterTopic, ensureTopics } from '../../../pipeline/topics.js';
import { contextFrom } from '../context.js';

type Client = ReturnType<typeof createEsClient>;

export function sinkCommand(): Command {
  return new Command('sink')
    .description('write domain topics to Elasticsearch (templates installed first) or cloud.* to APEL messages in an SSM outgoing queue, until SIGTERM')
    .argument('<target>', 'elasticsearch | apel')
    .option('--path <dir>', 'apel: the SSM outgoing queue directory (sinks.apel.path), e.g. /var/spool/apel/outgoing')
    .option('--layout <layout>', 'index layout: monthly (indices by the records\' month; replays overwrite) or data-stream (needs the data-streams module); default sinks.elasticsearch.layout')
    .action(async (target: string, options: { layout?: string; path?: string }, command: Command) => {
      if (target === 'apel') return runApelSink(command, options.path);
      if (target !== 'elasticsearch') throw new TallyError('USAGE', `unknown sink "${target}": elasticsearch or apel`);
      const { config, log } = contextFrom(command);
      const layout = parseLayout(options.layout ?? config.sinks.elasticsearch.layout);
      const settings = config.sinks.elasticsearch;
      const topics = settings.topics.map(indexedTopic);
      const prefix = config.elasticsearch.indexPrefix;
      const client = createEsClient(config.elasticsearch);
      let sink: RunningElasticsearchSink | undefined;
      const ops = await startOps({ ops: config.ops, log, stage: 'sink-elasticsearch' });
      const shutdown = installShutdown(log, config.shutdown.drainTimeoutMs, [async () => ops.draining(), async () => sink?.stop(), () => client.close(), () => ops.close()]);

      const install = await installWhenReachable(client, config.elasticsearch, { prefix, layout, topics }, log, shutdown.stopping);
      if (!install) return;
      for (const line of describeTemplateInstall(config.elasticsearch.url, install)) process.stdout.write(`${line}\n`);
      const bus = createBus(config.kafka, log);
      await ensureTopics(bus, config.topics, topics.flatMap((t) => [t.topic, ...(t.kinds ?? [t.kind]).map(deadLetterTopic)]));
      sink = await startElasticsearchSink({ bus, client, log, groupId: settings.groupId, indexPrefix: prefix, topics, layout: install.layout, concurrency: settings.concurrency, flushBytes: settings.flushBytes, requestTimeoutMs: config.elasticsearch.requestTimeoutMs, elasticsearch: config.elasticsearch });
      if (shutdown.stopping()) await sink.stop();
      const running = sink;
      // credentials refused after start-up: stop (committing what was written) and exit 1 with the message, as at start-up
      void running.failed.then((error) => {
        process.stderr.write(`tally: ${error.code}: ${error.message}\n`);
        exitAfterDrain(error.message, 1);
      });
      ops.started({
        consumer: { bus, groupId: settings.groupId, topics: topics.map((t) => bus.topic(t.topic)), consumer: running.consumer },
        counts: () => {
          const s = running.stats;
          return { kinds: { all: { in: s.indexed + s.deadLettered + s.skipped, out: s.indexed, rejected: s.deadLettered, deadLettered: s.deadLettered, retried: s.retried, skipped: { 'tombstone or superseded': s.skipped } } } };
        },
      });
      process.stdout.write(`tally sink elasticsearch: ${topics.map((t) => bus.topic(t.topic)).join(', ')} → ${config.elasticsearch.url} (${install.layout}), consumer group ${settings.groupId}\n`);
    });
}

async function runApelSink(command: Command, queuePath: string | undefined): Promise<void> {
  const { config, log } = contextFrom(command);
  const section: Record<string, unknown> = { ...config.sinks.apel, ...(queuePath ? { path: queuePath } : {}) };
  const path = section.path;
  if (typeof path !== 'string') throw new TallyError('USAGE', 'tally sink apel needs the outgoing queue directory: --path <dir> or sinks.apel.path in the configuration');
  const ops = await startOps({ ops: config.ops, log, stage: 'sink-apel' });
  const bus = createBus(config.kafka, log);
  const sink = await startApelSink({ bus, log, config: { ...section, path }, topics: config.topics });
  process.stdout.write(`tally sink apel: ${sink.config.topics.map((t) => bus.topic(t)).join(', ')} → ${sink.config.path} (APEL messages, at most ${sink.config.maxRecordsPerMessage} records each), consumer group ${sink.config.groupId}\n`);
  ops.started({
    consumer: { bus, groupId: sink.config.groupId, topics: sink.config.topics.map((t) => bus.topic(t)), consumer: sink.consumer },
    // a queue write failing (disk full, permissions, the directory gone) holds records off disk: /readyz says so after ops.stallTimeoutMs
    probes: [{ name: 'apel-queue-writes', sample: () => [sink.writeProgress()] }],
    counts: () => {
      const s = sink.stats();
      const skipped = Object.values(s.skipped).reduce((a, b) => a + b, 0);
      return { kinds: { all: { in: s.records + s.deadLettered + skipped, out: s.written, rejected: s.deadLettered, deadLettered: s.deadLettered, retried: s.retries, skipped: { ...s.skipped, superseded: s.superseded } } } };
    },
  });
  installShutdown(log, config.shutdown.drainTimeoutMs, [
    async () => ops.draining(),
    async (deadline) => {
      await sink.stop({ timeoutMs: Math.max(0, deadline - Date.now() - 1000) });
      log.info({ stats: sink.stats() }, 'sink apel stopped');
    },
    () => ops.close(),
  ]);
}

/** Elasticsearch may be down when the sink starts: wait for it (templates first), unless told to stop. */
async function installWhenReachable(client: Client, es: ElasticsearchConfig, options: { prefix: string; layout: ReturnType<typeof parseLayout>; topics: IndexedTopic[] }, log: Logger, stopping: () => boolean): Promise<TemplateInstall | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      // refused credentials or an untrusted certificate stop the sink: waiting would not fix them
      return await withEsAccess(es, () => installIndexTemplates(client, options));
    } catch (error) {
      if (!isTallyError(error) || !error.retriable) throw error;
      const backoffMs = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      log.warn({ attempt, backoffMs }, `Elasticsearch not ready for the templates yet (${messageOf(error)}); waiting`);
      for (let waited = 0; waited < backoffMs && !stopping(); waited += 250) await sleep(250);
      if (stopping()) return undefined;
    }
  }
}
