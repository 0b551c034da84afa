import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { installIndexTemplates } from '../../../connectors/sinks/elasticsearch/setup.js';
import { startElasticsearchSink } from '../../../connectors/sinks/elasticsearch/sink.js';
import { indexedTopic } from '../../../connectors/sinks/elasticsearch/topics.js';
import { createBus } from '../../bus/index.js';
import { createEsClient } from '../../elasticsearch/client.js';
import { projectRoot } from '../../paths.js';
import { accountingReport } from '../../report/accounting.js';
import { renderTable, runReport } from '../../report/panel.js';
import { startServices } from '../../services/index.js';
import { deadLetterTopic, ensureTopics, rawTopic } from '../../topics.js';
import { startTransform } from '../../transform/stage.js';
import { sendAccountingSamples } from '../../up/accounting.js';
import { deadLettersSince, endOffsets, waitCaughtUp } from '../../up/progress.js';
import { contextFrom } from '../context.js';

/**
 * The main job on embedded defaults: start the local services, run transform and the Elasticsearch
 * sink in this process, move the bundled samples through every source, wait until everything is
 * committed, and say what landed, what was rejected and where to read why.
 */
export function upCommand(): Command {
  return new Command('up')
    .description('start local Kafka and Elasticsearch and move the bundled samples through every stage (ship, beats, http → transform → sink elasticsearch)')
    .action(async (_options: unknown, command: Command) => {
      if (command.optsWithGlobals<{ logLevel?: string }>().logLevel === undefined) command.parent?.setOptionValue('logLevel', 'error');
      const { config, log } = contextFrom(command);
      const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
      out('tally up: starting local services (the first run downloads Kafka and Elasticsearch from Maven Central)…');
      const started = Date.now();
      for (const s of await startServices(config)) out(`  ${s.name.padEnd(14)} ${s.up ? 'up' : 'DOWN'} at ${s.endpoint}${s.version ? ` (version ${s.version})` : ''}${s.reused ? ', reused' : ''}`);
      out(`  ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

      const bus = createBus(config.kafka, log);
      const client = createEsClient(config.elasticsearch);
      const kinds = ['accounting'] as const;
      const esTopics = ['accounting.usage'].map(indexedTopic);
      const prefix = config.elasticsearch.indexPrefix;
      const install = await installIndexTemplates(client, { prefix, layout: config.sinks.elasticsearch.layout, topics: esTopics });
      out(`  templates      ${install.indexTemplates.map((t) => t.name).join(', ')} (${install.layout} indices)`);
      await ensureTopics(bus, config.topics, kinds.flatMap((k) => [rawTopic(k), deadLetterTopic(k)]));

      const admin = await bus.admin();
      const dlqStart = new Map(await Promise.all(kinds.map(async (k) => [k, await endOffsets(admin, bus.topic(deadLetterTopic(k)))] as const)));
      const transform = await startTransform({ bus, log, groupId: config.transform.groupId, kinds: [...kinds], topics: config.topics, maxBatchMessages: config.transform.maxBatchMessages });
      const sinkSettings = config.sinks.elasticsearch;
      const sink = await startElasticsearchSink({ bus, client, log, groupId: sinkSettings.groupId, indexPrefix: prefix, topics: esTopics, layout: install.layout, concurrency: sinkSettings.concurrency, flushBytes: sinkSettings.flushBytes });
      const producer = await bus.producer();
      const workDir = path.resolve(projectRoot, config.services.dir, 'up');
      await mkdir(workDir, { recursive: true });

      out('');
      out('accounting: the NEANIAS samples through ship, beats and http');
      const summaries = await sendAccountingSamples({ bus, log, producer, workDir });
      for (const s of summaries) out(`  ${s.source.padEnd(14)} ${s.detail}`);
      await producer.close();

      for (const kind of kinds) await waitCaughtUp(admin, config.transform.groupId, bus.topic(rawTopic(kind)), 60_000);
      for (const t of esTopics) await waitCaughtUp(admin, sinkSettings.groupId, bus.topic(t.topic), 120_000);
      const counts = transform.stats();
      const sinkStats = { ...sink.stats };
      await transform.stop();
      await sink.stop();

      for (const kind of kinds) {
        const c = counts[kind];
        out(`  transform      ${c?.in ?? 0} raw events: ${c?.out ?? 0} normalised records, ${c?.rejected ?? 0} rejected`);
      }
      await client.indices.refresh({ index: `${prefix}*` }).catch(() => undefined);
      for (const t of esTopics) {
        const pattern = `${prefix}${t.indexBase}*`;
        const total = (await client.count({ index: pattern, allow_no_indices: true })).count;
        out(`  elasticsearch  ${sinkStats.indexed} documents written to ${pattern} (${total} there in all: a replay overwrites by record id, it never doubles); ${sinkStats.deadLettered} refused`);
      }
      for (const kind of kinds) {
        const topic = bus.topic(deadLetterTopic(kind));
        const letters = await deadLettersSince(bus, admin, topic, dlqStart.get(kind) ?? new Map());
        out(`  rejected       ${letters.length} dead letters in Kafka topic ${topic}, each with the original bytes, where it came from and every reason:`);
        for (const letter of letters.slice(0, 6)) out(`                 - ${letter.reasons.map((r) => r.message).join('; ')}`);
        if (letters.length > 6) out(`                 … ${letters.length - 6} more: bin/tally convert --kind ${kind} < test/fixtures/${kind}/invalid.ndjson shows them all`);
      }
      await admin.close();

      out('');
      const report = await runReport(client, accountingReport, 'top-users', { indexPrefix: prefix, params: { from: '1970-01-01', to: 'now', size: 5 } });
      out(`tally report accounting top-users --from 1970-01-01 (the "top users" panel of the Accounting overview dashboard):`);
      out(renderTable(report.columns, report.rows));
      await client.close();
      out('');
      out(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Services keep running (bin/tally services stop stops them).`);
      out('Run a stage for real: bin/tally ship --path "/var/log/neanias/*.json" · bin/tally beats · bin/tally http · bin/tally transform · bin/tally sink elasticsearch');
    });
}
