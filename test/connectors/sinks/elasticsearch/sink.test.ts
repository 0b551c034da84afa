import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareBatch } from '../../../../connectors/sinks/elasticsearch/batch.js';
import { classifyItem, requestFailure } from '../../../../connectors/sinks/elasticsearch/bulk-outcome.js';
import { dataStreamName, monthlyIndex } from '../../../../connectors/sinks/elasticsearch/index-name.js';
import { documentFor, writeTarget } from '../../../../connectors/sinks/elasticsearch/layout.js';
import { installIndexTemplates } from '../../../../connectors/sinks/elasticsearch/setup.js';
import { startElasticsearchSink } from '../../../../connectors/sinks/elasticsearch/sink.js';
import { indexedTopic, indexedTopics } from '../../../../connectors/sinks/elasticsearch/topics.js';
import type { IncomingMessage } from '../../../../pipeline/bus/types.js';
import { decodeOriginal, type DeadLetter } from '../../../../pipeline/dlq.js';
import { isTallyError } from '../../../../pipeline/errors.js';
import { createEsClient } from '../../../../pipeline/elasticsearch/client.js';
import { esClient, eventually, testBus, testConfig, testLog, uniqueName } from '../../../support/world.js';
import { startEsProxy } from './es-proxy.js';
import { encodeUsage, usageCodec, usageMessage, usageRecord, type UsageRecord } from './records.js';
import { errors } from '@elastic/elasticsearch';

const accounting = indexedTopic('accounting.usage');

function message(topic: string, offset: number, record: UsageRecord, key: string | null = record.id): IncomingMessage {
  return { topic, partition: 0, offset: String(offset), key: key === null ? null : Buffer.from(key), value: encodeUsage(record), headers: {}, timestamp: 0, generation: 1 };
}

describe('pieces of the sink', () => {
  test('index names: monthly by the record time (UTC), one data stream per family', () => {
    assert.equal(monthlyIndex('tally-', 'accounting-usage', Date.UTC(2026, 0, 31, 23, 59)), 'tally-accounting-usage-2026.01');
    assert.equal(monthlyIndex('tally-', 'x', undefined), 'tally-x-undated');
    assert.equal(dataStreamName('tally-', 'accounting-usage'), 'tally-accounting-usage-stream');
    assert.deepEqual(writeTarget('monthly', 'p-', 'b', Date.UTC(2026, 10, 5)), { index: 'p-b-2026.11', operation: 'index' });
    assert.deepEqual(writeTarget('data-stream', 'p-', 'b', Date.UTC(2026, 10, 5)), { index: 'p-b-stream', operation: 'create' });
    assert.deepEqual(documentFor('data-stream', { a: 1 }, Date.UTC(2026, 10, 5)), { '@timestamp': '2026-11-05T00:00:00.000Z', a: 1 });
  });

  test('bulk items: written, retriable (cluster state) or permanent (the document)', () => {
    assert.equal(classifyItem(201, null).kind, 'written');
    assert.equal(classifyItem(409, { type: 'version_conflict_engine_exception' }, 'create').kind, 'written', 'create of an existing id: already there');
    for (const [status, type] of [[429, 'es_rejected_execution_exception'], [503, 'unavailable_shards_exception'], [500, undefined], [429, 'cluster_block_exception'], [403, 'cluster_block_exception'], [404, 'index_not_found_exception'], [400, 'index_closed_exception']] as const) {
      assert.equal(classifyItem(status, type ? { type } : null).kind, 'retry', `${status} ${type}`);
    }
    const refused = classifyItem(400, { type: 'document_parsing_exception', reason: "[1:40] failed to parse field [resource] of type [long]", caused_by: { type: 'illegal_argument_exception', reason: 'For input string: "vm"' } });
    assert.equal(refused.kind, 'permanent');
    if (refused.kind !== 'permanent') return;
    assert.equal(refused.reason.rule, 'document_parsing_exception');
    assert.match(refused.reason.message, /failed to parse field \[resource\].*caused by illegal_argument_exception: For input string/);
    assert.equal(classifyItem(400, { type: 'strict_dynamic_mapping_exception' }).kind, 'permanent');
  });

  test('whole-request failures are retried; the ones an operator must fix say so', () => {
    const connection = requestFailure(new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:1'));
    assert.equal(connection.code, 'ES_RETRIABLE');
    assert.equal(connection.retriable, true);
    const timeout = requestFailure(new errors.TimeoutError('Request timed out'));
    assert.equal(timeout.retriable, true);
    const unauthorized = requestFailure(new errors.ResponseError({ statusCode: 401, body: { error: { type: 'security_exception', reason: 'missing authentication credentials' } }, headers: {}, warnings: null, meta: {} as never }));
    assert.equal(unauthorized.code, 'ES_PERMANENT');
    assert.match(unauthorized.message, /401.*security_exception.*credentials/);
    const tooLarge = requestFailure(new errors.ResponseError({ statusCode: 413, body: '', headers: {}, warnings: null, meta: {} as never }));
    assert.match(tooLarge.message, /flushBytes/);
  });

  test('a batch: the last message of an id wins, undecodable and keyless records become dead letters', () => {
    const at = Date.UTC(2026, 2, 10);
    const first = usageRecord({ id: 'a', timestamp: at, comment: 'first' });
    const second = usageRecord({ id: 'a', timestamp: at, comment: 'second' });
    const messages = [
      message('t', 0, first),
      message('t', 1, usageRecord({ id: 'b', timestamp: at })),
      message('t', 2, second),
      { ...message('t', 3, first), value: Buffer.from('not avro at all') },
      { ...message('t', 4, first), headers: { 'tally-schema-fingerprint': Buffer.from('0'.repeat(64)) } },
      { ...message('t', 5, first), value: null },
    ];
    const batch = prepareBatch(messages, () => accounting, 'monthly', 'p-');
    assert.deepEqual(batch.documents.map((d) => [d.id, d.message.offset, d.index, d.operation]), [
      ['b', '1', 'p-accounting-usage-2026.03', 'index'],
      ['a', '2', 'p-accounting-usage-2026.03', 'index'],
    ]);
    assert.equal((JSON.parse(batch.documents[1]?.json ?? '{}') as { comment: string }).comment, 'second');
    assert.equal(batch.skipped, 2, 'the superseded first "a" and the tombstone');
    assert.deepEqual(batch.rejected.map((r) => [r.source?.offset, r.reasons[0]?.code, r.reasons[0]?.rule]), [
      ['3', 'RECORD_UNPARSABLE', undefined],
      ['4', 'RECORD_UNPARSABLE', 'schema-fingerprint'],
    ]);
    const keyless = prepareBatch([message('t', 0, first, null)], () => accounting, 'monthly', 'p-');
    assert.equal(keyless.documents[0]?.id, 'a', 'without a key the record id is the _id');
  });

  test('the registry: one entry per domain topic; an unknown topic is a configuration error', () => {
    assert.deepEqual(indexedTopics.filter((t) => t.topic === 'accounting.usage').map((t) => [t.topic, t.kind, t.indexBase, t.timeField]), [['accounting.usage', 'accounting', 'accounting-usage', 'timestamp']]);
    assert.equal(new Set(indexedTopics.map((t) => t.topic)).size, indexedTopics.length, 'one entry per topic');
    assert.throws(() => indexedTopic('cloud.nope'), (error) => isTallyError(error, 'CONFIG_INVALID') && /accounting\.usage/.test(error.message));
  });
});

describe('sink elasticsearch on the real Kafka and Elasticsearch', { timeout: 180_000 }, () => {
  const client = esClient();
  const prefix = `${uniqueName('tally-sinktest')}-`;
  after(async () => {
    await client.indices.delete({ index: `${prefix}*` }).catch(() => undefined);
    await client.indices.deleteIndexTemplate({ name: `${prefix}accounting-usage` }).catch(() => undefined);
    await client.cluster.deleteComponentTemplate({ name: `${prefix}accounting-usage-*` }).catch(() => undefined);
    await client.close();
  });

  test('several batches in flight: an id written again waits for its earlier batch, so the last record of every id wins; every offset committed', async () => {
    const bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('sinkpipe')}.`]);
    const topic = bus.topic('accounting.usage');
    const admin = await bus.admin();
    await admin.createTopics([{ topic, partitions: 1 }, { topic: bus.topic('dlq.accounting') }]);
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [accounting] });
    const may = Date.UTC(2027, 4, 3);
    const producer = await bus.producer();
    // 30 rounds of the same 20 ids, one batch each, then 200 ids once (batches that overlap nothing)
    for (let round = 0; round < 30; round += 1) {
      await producer.send(Array.from({ length: 20 }, (_, i) => usageMessage(topic, usageRecord({ id: `pipe-${i}`, timestamp: may + i * 1000, comment: `round ${round}` }))));
    }
    await producer.send(Array.from({ length: 200 }, (_, i) => usageMessage(topic, usageRecord({ id: `once-${i}`, timestamp: may + i * 1000, comment: 'once' }))));
    await producer.close();
    // the bulk of round 28 is held back: round 29 must wait for it, or round 28 would land last
    const proxy = await startEsProxy(testConfig().elasticsearch.url);
    proxy.bulkDelayMs = (body) => (body.includes('"round 28"') ? 1500 : 0);
    const sinkClient = createEsClient({ ...testConfig().elasticsearch, url: proxy.url });
    const groupId = uniqueName('g');
    const sink = await startElasticsearchSink({ bus, client: sinkClient, log: testLog, groupId, indexPrefix: prefix, topics: [accounting], maxBackoffMs: 1000, maxBatchMessages: 20, batchesInFlight: 4 });
    try {
      await eventually('all offsets committed', 90_000, async () => {
        const offsets = await admin.groupOffsets(groupId, topic);
        return offsets.every((o) => o.lag === 0 && Number(o.committed) === 800) ? true : undefined;
      });
      assert.ok(sink.stats.batches >= 40, `batches of at most 20 (${sink.stats.batches})`);
      await client.indices.refresh({ index: `${prefix}accounting-usage-2027.05` });
      const found = await client.search<{ id: string; comment: string }>({ index: `${prefix}accounting-usage-2027.05`, size: 500, query: { prefix: { id: 'pipe-' } } });
      assert.equal(found.hits.hits.length, 20);
      for (const hit of found.hits.hits) assert.equal(hit._source?.comment, 'round 29', `${hit._id} holds its last record`);
      const { count } = await client.count({ index: `${prefix}accounting-usage-2027.05`, query: { prefix: { id: 'once-' } } });
      assert.equal(count, 200);
    } finally {
      await sink.stop();
      await sinkClient.close();
      await proxy.close();
      await admin.close();
    }
  });

  test('Avro records indexed by id with their content; a replay overwrites; mapping conflicts, undecodable values and foreign schemas go to dlq.accounting; offsets committed', async () => {
    const bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('sink')}.`]);
    const topic = bus.topic('accounting.usage');
    const admin = await bus.admin();
    await admin.createTopics([{ topic, partitions: 2 }, { topic: bus.topic('dlq.accounting') }]);
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [accounting] });
    // January 2025 was created with resource as a number: an accounting record there is refused
    await client.indices.create({ index: `${prefix}accounting-usage-2025.01`, mappings: { properties: { resource: { type: 'long' } } } });

    const march = Date.UTC(2026, 2, 1);
    const records = Array.from({ length: 30 }, (_, i) =>
      usageRecord({ id: `acc-${i}`, timestamp: march + i * 86_400_000 * 1.5, userid: `user-${i % 3}`, value: i + 0.5, measure: i % 2 ? 'time' : 'information', type: i % 5 === 0 ? '-' : '+', comment: `entry ${i}` }),
    );
    const producer = await bus.producer();
    await producer.send(records.map((r) => usageMessage(topic, r)));
    await producer.send(records.slice(0, 5).map((r) => usageMessage(topic, { ...r, comment: 'replayed' })));
    const conflicting = usageRecord({ id: 'acc-conflict', timestamp: Date.UTC(2025, 0, 15), resource: 'vm-bad' });
    const foreign = usageRecord({ id: 'acc-foreign', timestamp: march });
    await producer.send([
      usageMessage(topic, conflicting),
      { topic, key: 'garbage', value: Buffer.from('not avro at all'), headers: {} },
      { ...usageMessage(topic, foreign), headers: { ...usageCodec().headers, 'tally-schema-fingerprint': 'f'.repeat(64) } },
    ]);

    const groupId = uniqueName('g');
    const sink = await startElasticsearchSink({ bus, client, log: testLog, groupId, indexPrefix: prefix, topics: [accounting], maxBackoffMs: 1000 });
    await eventually('every record handled and all offsets committed', 90_000, async () => {
      const offsets = await admin.groupOffsets(groupId, topic);
      return offsets.every((o) => o.lag === 0 && Number(o.committed) > 0) ? true : undefined;
    });
    await client.indices.refresh({ index: `${prefix}accounting-usage-*` });
    const { count } = await client.count({ index: `${prefix}accounting-usage-2026.*` });
    assert.equal(count, 30, 'one document per record id: the replay overwrote');
    const months = await client.cat.indices({ index: `${prefix}accounting-usage-2026.*`, h: 'index', format: 'json' });
    assert.deepEqual(months.map((m) => m.index).sort(), [`${prefix}accounting-usage-2026.03`, `${prefix}accounting-usage-2026.04`]);

    const replayed = await client.get<{ comment: string }>({ index: `${prefix}accounting-usage-2026.03`, id: 'acc-3' });
    assert.equal(replayed._source?.comment, 'replayed', 'the later record won');
    const r10 = records[10] as UsageRecord;
    const stored = await client.get({ index: monthlyIndex(prefix, 'accounting-usage', r10.timestamp), id: 'acc-10' });
    assert.deepEqual(stored._source, {
      id: 'acc-10',
      timestamp: new Date(r10.timestamp).toISOString(),
      serviceid: 'svc-a',
      level: 'accounting',
      userid: 'user-1',
      resource: 'dataset-1',
      action: 'download',
      comment: 'entry 10',
      value: 10.5,
      signed_value: -10.5,
      measure: 'information',
      unit: 'MB',
      type: '-',
      source: { input: 'http', host: 'probe-1', client: '10.0.0.7', tags: [] },
    });

    const letters: DeadLetter[] = [];
    const dlq = await bus.consumer({ groupId: uniqueName('dlq'), topics: [bus.topic('dlq.accounting')] });
    await dlq.run((messages) => {
      for (const m of messages) letters.push(JSON.parse(m.value?.toString() ?? '{}') as DeadLetter);
    });
    await eventually('three dead letters', 30_000, () => (letters.length >= 3 ? true : undefined));
    await dlq.close();
    const byKey = new Map(letters.map((l) => [l.source?.key, l]));
    assert.equal(letters.length, 3);
    const refused = byKey.get('acc-conflict');
    assert.equal(refused?.stage, 'sink-elasticsearch');
    assert.equal(refused?.kind, 'accounting');
    assert.equal(refused?.reasons[0]?.rule, 'document_parsing_exception');
    assert.match(refused?.reasons[0]?.message ?? '', /failed to parse field \[resource\] of type \[long\]/);
    assert.deepEqual(refused && decodeOriginal(refused.original), encodeUsage(conflicting), 'the original Avro bytes');
    const garbage = byKey.get('garbage');
    assert.equal(garbage?.reasons[0]?.code, 'RECORD_UNPARSABLE');
    assert.equal(garbage && decodeOriginal(garbage.original).toString(), 'not avro at all');
    assert.equal(byKey.get('acc-foreign')?.reasons[0]?.rule, 'schema-fingerprint');

    assert.equal(sink.stats.deadLettered, 3);
    assert.equal(sink.stats.indexed + sink.stats.skipped, 35, 'each of the 35 accepted messages indexed, or superseded by a later one of its id in the same batch');
    await sink.stop();
    await producer.close();
    await admin.close();
  });
});
