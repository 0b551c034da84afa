import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { defaultLayout, parseLayout } from '../../../connectors/sinks/elasticsearch/layout.js';
import { describeTemplateInstall, installIndexTemplates, type TemplateInstall } from '../../../connectors/sinks/elasticsearch/setup.js';
import { startElasticsearchSink, type RunningElasticsearchSink } from '../../../connectors/sinks/elasticsearch/sink.js';
import { indexedTopic, type IndexedTopic } from '../../../connectors/sinks/elasticsearch/topics.js';
import { createBus } from '../../bus/index.js';
import { createEsClient } from '../../elasticsearch/client.js';
import { TallyError, isTallyError, messageOf } from '../../errors.js';
import type { Logger } from '../../log.js';
import { installShutdown } from '../../runtime/shutdown.js';
import { contextFrom } from '../context.js';

type Client = ReturnType<typeof createEsClient>;

export function sinkCommand(): Command {
  return new Command('sink')
    .description('write domain topics to Elasticsearch (templates installed first), until SIGTERM; apel is not built yet')
    .argument('<target>', 'elasticsearch | apel')
    .option('--layout <layout>', 'index layout: monthly (indices by the records\' month; replays overwrite) or data-stream (needs the data-streams module)', defaultLayout)
    .action(async (target: string, options: { layout: string }, command: Command) => {
      if (target === 'apel') throw new TallyError('NOT_BUILT', 'tally sink apel is not built yet; it arrives with issue 4 (cloud-accounting path)');
      if (target !== 'elasticsearch') throw new TallyError('USAGE', `unknown sink "${target}": elasticsearch or apel`);
      const layout = parseLayout(options.layout);
      const { config, log } = contextFrom(command);
      const settings = config.sinks.elasticsearch;
      const topics = settings.topics.map(indexedTopic);
      const prefix = config.elasticsearch.indexPrefix;
      const client = createEsClient(config.elasticsearch);
      let sink: RunningElasticsearchSink | undefined;
      const shutdown = installShutdown(log, config.shutdown.drainTimeoutMs, [async () => sink?.stop(), () => client.close()]);

      const install = await installWhenReachable(client, { prefix, layout, topics }, log, shutdown.stopping);
      if (!install) return;
      for (const line of describeTemplateInstall(config.elasticsearch.url, install)) process.stdout.write(`${line}\n`);
      const bus = createBus(config.kafka, log);
      sink = await startElasticsearchSink({ bus, client, log, groupId: settings.groupId, indexPrefix: prefix, topics, layout: install.layout, concurrency: settings.concurrency, flushBytes: settings.flushBytes });
      if (shutdown.stopping()) await sink.stop();
      process.stdout.write(`tally sink elasticsearch: ${topics.map((t) => bus.topic(t.topic)).join(', ')} → ${config.elasticsearch.url} (${install.layout}), consumer group ${settings.groupId}\n`);
    });
}

/** Elasticsearch may be down when the sink starts: wait for it (templates first), unless told to stop. */
async function installWhenReachable(client: Client, options: { prefix: string; layout: ReturnType<typeof parseLayout>; topics: IndexedTopic[] }, log: Logger, stopping: () => boolean): Promise<TemplateInstall | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await installIndexTemplates(client, options);
    } catch (error) {
      if (!isTallyError(error) || !error.retriable) throw error;
      const backoffMs = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      log.warn({ attempt, backoffMs }, `Elasticsearch not ready for the templates yet (${messageOf(error)}); waiting`);
      for (let waited = 0; waited < backoffMs && !stopping(); waited += 250) await sleep(250);
      if (stopping()) return undefined;
    }
  }
}
