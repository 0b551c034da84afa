import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { startApelSink } from '../../../connectors/sinks/apel/sink.js';
import { installIndexTemplates } from '../../../connectors/sinks/elasticsearch/setup.js';
import { startElasticsearchSink } from '../../../connectors/sinks/elasticsearch/sink.js';
import { indexedTopics } from '../../../connectors/sinks/elasticsearch/topics.js';
import { createBus } from '../../../pipeline/bus/index.js';
import type { KindName } from '../../../pipeline/config/types.js';
import { createEsClient } from '../../../pipeline/elasticsearch/client.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { accountingReport } from '../../../pipeline/report/accounting.js';
import { renderTable, runReport } from '../../../pipeline/report/panel.js';
import { startServices } from '../../../pipeline/services/index.js';
import { deadLetterTopic, ensureTopics, rawTopic } from '../../../pipeline/topics.js';
import { exactlyOnceOf, startTransform } from '../../../pipeline/transform/stage.js';
import { auditReport } from '../../../pipeline/report/audit.js';
import { renderStory, requestStory } from '../../../pipeline/report/requests.js';
import { sendAccountingSamples } from '../../up/accounting.js';
import { sampleRequestId, sampleWeek, sendAuditSamples } from '../../up/audit.js';
import { apelOutgoingDir, describeOutgoing, sendCloudSamples } from '../../up/cloud.js';
import type { SourceSummary, UpContext } from '../../up/context.js';
import { deadLettersSince, endOffsets, waitCaughtUp } from '../../up/progress.js';
import { registryInUseUrl } from '../../../pipeline/registry/domain-values.js';
import { contextFrom } from '../context.js';

interface SamplePath {
  title: string;
  kinds: KindName[];
  send(context: UpContext): Promise<SourceSummary[]>;
}

const samplePaths: SamplePath[] = [
  { title: 'accounting: the NEANIAS samples through ship, beats and http', kinds: ['accounting'], send: sendAccountingSamples },
  { title: "cloud accounting: cASO's messages through its SSM queue (apel-queue) and its energy records over http", kinds: ['apel-message', 'caso-json'], send: sendCloudSamples },
  { title: 'audit and operations: ROR operation logs, OpenStack audit events and oslo.log files', kinds: ['ror-audit', 'openstack-audit', 'oslo-log'], send: sendAuditSamples },
];

/**
 * The main job on embedded defaults: start the local services, run transform and both sinks in
 * this process, move the bundled samples through every source, wait until everything is
 * committed, and say what landed, what was rejected and where to read why.
 */
export function upCommand(): Command {
  return new Command('up')
    .description('start local Kafka and Elasticsearch and move the bundled samples through every stage (sources → transform → sink elasticsearch and sink apel)')
    .action(async (_options: unknown, command: Command) => {
      if (command.optsWithGlobals<{ logLevel?: string }>().logLevel === undefined) command.parent?.setOptionValue('logLevel', 'error');
      const { config, log } = contextFrom(command);
      const out = (line = ''): boolean => process.stdout.write(`${line}\n`);
      out('tally up: starting local services (the first run downloads Kafka, Elasticsearch and the Schema Registry from Maven Central)…');
      const started = Date.now();
      for (const s of await startServices(config)) out(`  ${s.name.padEnd(14)} ${s.up ? 'up' : 'DOWN'} at ${s.endpoint}${s.version ? ` (version ${s.version})` : ''}${s.reused ? ', reused' : ''}`);
      out(`  ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

      const bus = createBus(config.kafka, log);
      const client = createEsClient(config.elasticsearch);
      const kinds = samplePaths.flatMap((p) => p.kinds);
      const esTopics = indexedTopics.filter((t) => kinds.some((k) => t.kind === k || t.kinds?.includes(k)));
      const prefix = config.elasticsearch.indexPrefix;
      const install = await installIndexTemplates(client, { prefix, layout: config.sinks.elasticsearch.layout, topics: esTopics });
      out(`  templates      ${install.indexTemplates.map((t) => t.name).join(', ')} (${install.layout} indices)`);
      await ensureTopics(bus, config.topics, kinds.flatMap((k) => [rawTopic(k), deadLetterTopic(k)]));

      const admin = await bus.admin();
      const dlqStart = new Map(await Promise.all(kinds.map(async (k) => [k, await endOffsets(admin, bus.topic(deadLetterTopic(k)))] as const)));
      const exactlyOnce = exactlyOnceOf(config.transform, config.kafka, config.transform.groupId);
      const transform = await startTransform({ bus, log, groupId: config.transform.groupId, kinds, topics: config.topics, maxBatchMessages: config.transform.maxBatchMessages, ...(exactlyOnce ? { exactlyOnce } : {}) });
      const registryUrl = registryInUseUrl();
      if (registryUrl) out(`  schemas        ${[...transform.subjects].map(([subject, id]) => `${subject} (id ${id})`).join(', ')} in the schema registry ${registryUrl} (Confluent wire format)`);
      else out('  schemas        no schema registry (an external Kafka without registry.url): domain values are bare Avro with the tally-schema-fingerprint header');
      const esSettings = config.sinks.elasticsearch;
      const esSink = await startElasticsearchSink({ bus, client, log, groupId: esSettings.groupId, indexPrefix: prefix, topics: esTopics, layout: install.layout, concurrency: esSettings.concurrency, flushBytes: esSettings.flushBytes, requestTimeoutMs: config.elasticsearch.requestTimeoutMs, elasticsearch: config.elasticsearch });
      const workDir = path.resolve(projectRoot, config.services.dir, 'up');
      await mkdir(workDir, { recursive: true });
      const outgoing = apelOutgoingDir(workDir);
      await rm(outgoing, { recursive: true, force: true });
      const apelSink = await startApelSink({ bus, log, config: { ...config.sinks.apel, path: outgoing, flushIntervalMs: 500 }, topics: config.topics });
      const producer = await bus.producer();

      for (const samplePath of samplePaths) {
        out('');
        out(samplePath.title);
        for (const s of await samplePath.send({ bus, log, producer, workDir })) out(`  ${s.source.padEnd(14)} ${s.detail}`);
      }
      await producer.close();

      for (const kind of kinds) await waitCaughtUp(admin, config.transform.groupId, bus.topic(rawTopic(kind)), 60_000);
      for (const t of esTopics) await waitCaughtUp(admin, esSettings.groupId, bus.topic(t.topic), 120_000);
      await apelSink.flush();
      for (const topic of apelSink.config.topics) await waitCaughtUp(admin, apelSink.config.groupId, bus.topic(topic), 60_000);
      const counts = transform.stats();
      const esStats = { ...esSink.stats };
      const apelStats = apelSink.stats();
      await transform.stop();
      await esSink.stop();
      await apelSink.stop();

      out('');
      out('what happened');
      for (const kind of kinds) {
        const c = counts[kind];
        out(`  transform      ${kind}: ${c?.in ?? 0} raw events → ${c?.out ?? 0} normalised records, ${c?.rejected ?? 0} rejected`);
      }
      await client.indices.refresh({ index: `${prefix}*` }).catch(() => undefined);
      out(`  elasticsearch  ${esStats.indexed} documents written, ${esStats.deadLettered} refused; in the indices now (a replay overwrites by record id, it never doubles):`);
      for (const t of esTopics) {
        const pattern = `${prefix}${t.indexBase}-*`;
        const total = (await client.count({ index: pattern, allow_no_indices: true, ignore_unavailable: true })).count;
        out(`                 ${pattern.padEnd(36)} ${total}`);
      }
      const written = await describeOutgoing(outgoing);
      out(`  sink apel      ${apelStats.written} records in ${written.messages} APEL messages in ${outgoing} (the queue ssmsend sends from; latest snapshot per VM, ${apelStats.superseded} earlier snapshots replaced):`);
      for (const [header, n] of written.byHeader) out(`                 ${String(n).padStart(3)} × ${header}`);
      for (const kind of kinds) {
        const topic = bus.topic(deadLetterTopic(kind));
        const letters = await deadLettersSince(bus, admin, topic, dlqStart.get(kind) ?? new Map());
        if (letters.length === 0) continue;
        out(`  rejected       ${letters.length} dead letters in Kafka topic ${topic}, each with the original bytes, where it came from and every reason:`);
        for (const letter of letters.slice(0, 4)) out(`                 - ${letter.reasons.map((r) => r.message).join('; ')}`);
        if (letters.length > 4) out(`                 … ${letters.length - 4} more: bin/tally dlq list ${kind}`);
      }
      await admin.close();

      out('');
      const report = await runReport(client, accountingReport, 'top-users', { indexPrefix: prefix, params: { from: '1970-01-01', to: 'now', size: 5 } });
      out('tally report accounting top-users --from 1970-01-01 (the "top users" panel of the Accounting overview dashboard):');
      out(renderTable(report.columns, report.rows));
      out('');
      out(`tally report request ${sampleRequestId} (one request's whole story, across services, with its tracebacks):`);
      out(renderStory(await requestStory(client, { indexPrefix: prefix, id: sampleRequestId, size: 1000 })));
      const actives = await runReport(client, auditReport, 'active-users', { indexPrefix: prefix, params: { from: sampleWeek.from, to: sampleWeek.to, size: 10 } });
      out(`tally report audit active-users --from ${sampleWeek.from} --to ${sampleWeek.to} (the 7-day actives of the audit-logging spec):`);
      out(renderTable(actives.columns, actives.rows));
      await client.close();
      out('');
      out(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Services keep running (bin/tally services stop stops them).`);
      out('Run a stage for real: bin/tally ship --path "/var/log/neanias/*.json" · beats · http · apel-queue --path <queue> · transform · sink elasticsearch · sink apel --path <queue>');
    });
}
