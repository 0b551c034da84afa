import { writeFileSync } from 'node:fs';
import type { KafkaBackendName as Backend } from '../../pipeline/config/types.js';
import path from 'node:path';
import type { IncomingMessage, OutgoingRecord } from '../../pipeline/bus/types.js';
import { createEsClient } from '../../pipeline/elasticsearch/client.js';
import { normaliserFor } from '../../pipeline/normalise/index.js';
import { transformMessage } from '../../pipeline/transform/transform-message.js';
import { prepareBatch } from '../../connectors/sinks/elasticsearch/batch.js';
import { installIndexTemplates } from '../../connectors/sinks/elasticsearch/setup.js';
import { indexedTopic } from '../../connectors/sinks/elasticsearch/topics.js';
import { afterRunGraceMs, startChild } from '../child.js';
import type { CaseContext } from '../context.js';
import { chownTree } from '../files.js';
import { fillTopic, rawEnvelopes } from '../fill.js';
import { untilComplete } from '../measure.js';
import { installHint, rsyslogTool } from '../peers/installed.js';
import { startRsyslogKafkaToElasticsearch } from '../peers/rsyslog.js';
import { newestProfile, summariseProfile } from '../profile.js';
import { emptyCase, fromThroughput, interleaved, ratio, unavailableRow, type CaseResult, type RunFigures, type ToolPlan, type ToolRow } from '../results.js';
import { backends, benchScript, nodeOptions, readyText, startTallyStage } from '../tally-stage.js';
import { benchUser } from '../world.js';
import { framedRecords, framedTool, framingConfig, framingDetail, framings, registryCostRatios, type ValueFraming } from '../value-framing.js';

const indexBase = 'accounting-usage';
/** every corpus record's timestamp is in 2026-11, so every tool writes one monthly index */
const monthIndex = `${indexBase}-2026.11`;

/** Avro accounting.usage records, made by the transform's own code from the corpus (in this process, before the clock). */
function domainRecords(prefix: string, lines: string[], partitions: number): OutgoingRecord[] {
  const raw = rawEnvelopes(`${prefix}raw.accounting`, 'accounting', lines, { partitions });
  const normaliser = normaliserFor('accounting');
  const topic = (name: string) => `${prefix}${name}`;
  const out: OutgoingRecord[] = [];
  raw.forEach((r, i) => {
    const message: IncomingMessage = { topic: r.topic, partition: r.partition ?? 0, offset: String(i), key: null, value: Buffer.from(r.value as string), headers: {}, timestamp: Date.now(), generation: 0 };
    const { records, deadLetters } = transformMessage(message, 'accounting', normaliser, topic);
    if (deadLetters.length) throw new Error(`corpus line ${i} was rejected by the accounting normaliser`);
    for (const record of records) out.push({ ...record, partition: i % partitions });
  });
  return out;
}

/**
 * Case 4, Elasticsearch sink: accounting.usage (Avro, filled before the clock) → `tally sink
 * elasticsearch` → a fresh monthly index. Ceiling: a minimal node-fetch `_bulk` client sending the
 * same documents with the same ids, the sink's concurrency (2) and the bulk size the sink actually
 * sent in the preceding run (documents per shard bulk request, from the index's bulk stats). Peer:
 * rsyslog imkafka → omelasticsearch on a twin topic holding the same documents as JSON (rsyslog
 * cannot read Avro), same ids, bulk size and worker count. Done = the index's primaries counted
 * every document (`index_total`, no refresh needed).
 */
export async function esSinkCase(ctx: CaseContext): Promise<CaseResult> {
  const { world, log } = ctx;
  const n = world.sizes.sinkDocuments;
  const lines = ctx.corpora.accounting(n);
  const prefix = world.topicPrefix('es-sink');
  const records = domainRecords(prefix, lines, world.sizes.partitions);
  await world.kafka.createTopics([`${prefix}accounting.usage`, `${prefix}es-json`], world.sizes.partitions);
  await fillTopic(world, records);
  /** the same records as each framing writes them, on a topic prefix each (bare Avro: the one above) */
  const framedPrefix: Record<ValueFraming, string> = { default: prefix, bare: prefix };
  if (framings(world).includes('bare')) {
    framedPrefix.default = world.topicPrefix('es-sink-registry');
    const physical = `${framedPrefix.default}accounting.usage`;
    const framed = await framedRecords(world, 'default', [{ physical, logical: 'accounting.usage' }], () => domainRecords(framedPrefix.default, lines, world.sizes.partitions));
    await world.kafka.createTopics([physical], world.sizes.partitions);
    await fillTopic(world, framed);
  }

  // the same documents as the sink makes them (its own prepareBatch), for the raw client and the peer
  const messages: IncomingMessage[] = records.map((r, i) => ({ topic: r.topic, partition: r.partition ?? 0, offset: String(i), key: Buffer.from(String(r.key)), value: r.value as Buffer, headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, Buffer.from(v)])), timestamp: Date.now(), generation: 0 }));
  const spec = indexedTopic('accounting.usage');
  const batch = prepareBatch(messages, () => spec, 'monthly', '__PREFIX__');
  if (batch.documents.length !== n || batch.documents.some((d) => d.index !== `__PREFIX__${monthIndex}`)) throw new Error(`expected ${n} documents in one index, got ${batch.documents.length}`);
  const bulkFile = path.join(world.dir, 'corpus', `es-bulk-${n}.ndjson`);
  writeFileSync(bulkFile, `${batch.documents.map((d) => `${JSON.stringify({ index: { _index: d.index, _id: d.id } })}\n${d.json}`).join('\n')}\n`);
  const meanDocument = batch.documents.reduce((s, d) => s + Buffer.byteLength(d.json), 0) / n;
  await fillTopic(world, batch.documents.map((d, i) => ({ topic: `${prefix}es-json`, key: d.id, value: d.json, partition: i % world.sizes.partitions })));
  const result = emptyCase('es-sink', 'Elasticsearch sink: accounting.usage → index', `${n.toLocaleString('en')} accounting.usage records (Avro) → documents of ${meanDocument.toFixed(0)} B mean JSON, deterministic _id, one monthly index (1 shard, 0 replicas)`);

  const client = createEsClient(world.config.elasticsearch);
  const installTemplates = async (indexPrefix: string): Promise<void> => {
    await installIndexTemplates(client, { prefix: indexPrefix, layout: 'monthly', topics: [spec] });
  };
  /** documents per bulk request each sink backend sent in its latest run; the raw client and rsyslog copy it */
  const docsPerBulk: Record<Backend, number> = { kafkajs: 0, rdkafka: 0 };
  const concurrency = 2;

  const sinkRun = async (backend: Backend, cpuProfile = false, framing: ValueFraming = 'default'): Promise<RunFigures> => {
    const indexPrefix = world.indexPrefix(`es-${backend}`);
    const group = world.group(`sink-${backend}`);
    const configFile = world.tallyConfig(`sink-${backend}`, { kafka: { backend, topicPrefix: framedPrefix[framing] }, elasticsearch: { indexPrefix }, sinks: { elasticsearch: { groupId: group, concurrency, topics: ['accounting.usage'] } }, ...framingConfig(framing) });
    const child = await startTallyStage(world, { label: `sink-${backend}`, configFile, args: ['sink', 'elasticsearch'], ready: readyText.sinkElasticsearch, cpuProfile });
    try {
      const t = await untilComplete({ count: () => world.es.indexTotal(`${indexPrefix}*`), target: n, processes: [child] });
      const bulks = await world.es.bulkRequests(`${indexPrefix}*`);
      if (framing === 'default') docsPerBulk[backend] = Math.max(1, Math.round(n / Math.max(1, bulks)));
      return fromThroughput(t, meanDocument, { 'docs per bulk': n / Math.max(1, bulks) });
    } finally {
      await child.stop(cpuProfile ? 20_000 : afterRunGraceMs);
      await world.es.deleteIndices(`${indexPrefix}*`).catch(() => undefined);
    }
  };

  const plans: ToolPlan[] = [];
  for (const backend of backends) {
    for (const framing of framings(world)) {
      plans.push({ tool: framedTool('tally sink elasticsearch', backend, framing), role: 'tally', detail: `Avro decode → JSON document → bulk helper (@elastic/elasticsearch), concurrency ${concurrency}, flushBytes 5 MB (spread over the connections), monthly layout; ${framingDetail(world, framing)}`, run: () => sinkRun(backend, false, framing) });
    }
  }
  for (const backend of backends) {
    plans.push({
      tool: `raw _bulk (as ${backend} sink)`,
      role: 'ceiling',
      detail: `the same documents and _ids, pre-built NDJSON, node fetch, ${concurrency} requests in flight, as many documents per request as the preceding ${backend} sink run sent`,
      run: async () => {
        const indexPrefix = world.indexPrefix('es-raw');
        await installTemplates(indexPrefix);
        const per = docsPerBulk[backend] || 1000;
        const child = startChild('raw-bulk', process.execPath, [...nodeOptions, benchScript('raw-bulk'), bulkFile, world.config.elasticsearch.url, indexPrefix, String(per), String(concurrency)], { logFile: world.logFile('raw-bulk'), readyText: /^bench raw-bulk ready/m });
        try {
          const t = await untilComplete({ count: () => world.es.indexTotal(`${indexPrefix}*`), target: n, processes: [child], intervalMs: 20 });
          return fromThroughput(t, meanDocument, { 'docs per bulk': per });
        } finally {
          await child.exit(30_000);
          await world.es.deleteIndices(`${indexPrefix}*`).catch(() => undefined);
        }
      },
    });
  }
  const unavailable: ToolRow[] = [];
  const rsyslog = rsyslogTool();
  if (rsyslog && ['imkafka', 'omelasticsearch', 'mmjsonparse'].every((m) => rsyslog.modules.includes(m))) {
    plans.push({
      tool: 'rsyslog imkafka → omelasticsearch',
      role: 'peer',
      detail: `${rsyslog.version}; twin topic with the same documents as JSON, mmjsonparse for the id, bulkmode, the kafkajs sink's documents per bulk as dequeueBatchSize, ${concurrency} worker threads; run as nobody`,
      run: async () => {
        const indexPrefix = world.indexPrefix('es-rsyslog');
        await installTemplates(indexPrefix);
        const dir = world.workDir('rsyslog-es');
        chownTree(dir, benchUser);
        const child = startRsyslogKafkaToElasticsearch(rsyslog, {
          dir,
          logFile: world.logFile('rsyslog-es'),
          user: benchUser,
          brokers: world.config.kafka.brokers,
          topic: `${prefix}es-json`,
          group: world.group('rsyslog-es'),
          esUrl: world.config.elasticsearch.url,
          index: `${indexPrefix}${monthIndex}`,
          bulkDocuments: docsPerBulk.kafkajs || 1000,
          workers: concurrency,
        });
        try {
          const t = await untilComplete({ count: () => world.es.indexTotal(`${indexPrefix}*`), target: n, processes: [child] });
          return fromThroughput(t, meanDocument, { 'docs per bulk': docsPerBulk.kafkajs || 1000 });
        } finally {
          await child.stop(afterRunGraceMs);
          await world.es.deleteIndices(`${indexPrefix}*`).catch(() => undefined);
        }
      },
    });
  } else unavailable.push(unavailableRow('rsyslog imkafka → omelasticsearch', 'peer', 'rsyslog', 'not installed', `rsyslog with imkafka, mmjsonparse and omelasticsearch is not installed: ${installHint}`));

  try {
    result.rows = [...(await interleaved(plans, world.sizes.runs, log)), ...unavailable];
    const row = (tool: string): ToolRow | undefined => result.rows.find((r) => r.tool === tool && r.status === 'ok');
    const peer = row('rsyslog imkafka → omelasticsearch');
    registryCostRatios(result, 'tally sink elasticsearch', 'ES sink documents/s', (r) => r.eventsPerSecond, backends);
    for (const backend of backends) {
      const tally = row(`tally sink elasticsearch (${backend})`);
      const ceiling = row(`raw _bulk (as ${backend} sink)`);
      if (!tally) continue;
      if (ceiling) result.ratios.push(ratio(`sink (${backend}) / raw _bulk`, tally, ceiling, (r) => r.eventsPerSecond, { text: '≥ 0.9 × raw _bulk', threshold: 0.9 }));
      if (peer) result.ratios.push(ratio(`sink (${backend}) / omelasticsearch`, tally, peer, (r) => r.eventsPerSecond, { text: '≥ 1.2 × omelasticsearch', threshold: 1.2 }));
      if (peer) result.ratios.push(ratio(`sink (${backend}) CPU per document / omelasticsearch`, tally, peer, (r) => r.cpuSecondsPerMillion, undefined, 'lower is better'));
    }
    if (ctx.profile) {
      for (const backend of backends) {
        const since = Date.now();
        try {
          await sinkRun(backend, true);
          const file = newestProfile(path.join(world.dir, 'profiles'), `sink-${backend}`, since);
          if (file) result.profiles.push(summariseProfile(`tally sink elasticsearch (${backend})`, file));
        } catch (error) {
          log(`  profile of sink (${backend}) failed: ${(error as Error).message}`);
        }
      }
    }
  } finally {
    await client.close();
    await world.kafka.deletePrefixes([...new Set(Object.values(framedPrefix))]);
  }
  return result;
}
