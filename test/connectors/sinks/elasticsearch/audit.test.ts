import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { monthlyIndex } from '../../../../connectors/sinks/elasticsearch/index-name.js';
import { installIndexTemplates } from '../../../../connectors/sinks/elasticsearch/setup.js';
import { startElasticsearchSink } from '../../../../connectors/sinks/elasticsearch/sink.js';
import { familyMappings, mappedFields, templateSet } from '../../../../connectors/sinks/elasticsearch/templates.js';
import { deadLetterKind, indexedTopic } from '../../../../connectors/sinks/elasticsearch/topics.js';
import { domainCodec, schemaDir } from '../../../../pipeline/avro.js';
import { decodeOriginal, type DeadLetter } from '../../../../pipeline/dlq.js';
import type { NormalisedRecord } from '../../../../pipeline/normalise/index.js';
import { auditPathKinds, documentOf, fixtureEvents } from '../../../support/fixture-events.js';
import { esClient, eventually, testBus, testLog, uniqueName } from '../../../support/world.js';

const audit = indexedTopic('audit.events');
const ops = indexedTopic('ops.logs');

interface AvroField {
  name: string;
  type: unknown;
}

/** Every leaf of an Avro record schema as a dotted path (nested records are ECS objects). */
function avroLeaves(fields: AvroField[], prefix = ''): string[] {
  return fields.flatMap((field) => {
    const branches = (Array.isArray(field.type) ? field.type : [field.type]) as { type?: string; fields?: AvroField[] }[];
    const record = branches.find((b) => typeof b === 'object' && b.type === 'record');
    return record?.fields ? avroLeaves(record.fields, `${prefix}${field.name}.`) : [`${prefix}${field.name}`];
  });
}

/** Every path of a document, stopping at a mapped leaf (a flattened map's keys are its own). */
function documentPaths(value: unknown, mapped: Map<string, string>, path: string[] = []): string[] {
  if (path.length && mapped.has(path.join('.'))) return [path.join('.')];
  if (value && typeof value === 'object' && !Array.isArray(value)) return Object.entries(value).flatMap(([k, v]) => documentPaths(v, mapped, [...path, k]));
  return [path.join('.')];
}

describe('the audit-events and ops-logs template sets', () => {
  for (const [spec, expected] of [
    [audit, { 'user.id': 'keyword', 'event.outcome': 'keyword', 'event.reason': 'text', 'event.reason.keyword': 'keyword', details: 'flattened', details_lists: 'flattened', 'source.ip': 'ip', 'log.original': 'text', 'http.status_code': 'integer', transaction_id: 'keyword' }],
    [ops, { message: 'text', error_stack_trace: 'text', 'log.level_number': 'integer', 'http.duration_ms': 'double', 'process.pid': 'integer', 'source.ip': 'ip', trace_id: 'keyword', cloud_instance_id: 'keyword' }],
  ] as const) {
    test(`${spec.indexBase}: strict, every Avro field mapped, message as text, ids as keywords`, () => {
      const set = templateSet(spec.indexBase, { prefix: 'x-', layout: 'monthly', ilm: false });
      assert.deepEqual(set.indexTemplate.index_patterns, [`x-${spec.indexBase}-*`]);
      const mappings = familyMappings(set);
      assert.equal(mappings.dynamic, 'strict');
      const fields = mappedFields(mappings.properties);
      for (const [field, type] of Object.entries(expected)) assert.equal(fields.get(field), type, field);
      assert.deepEqual([...fields].filter(([f, t]) => (f === 'id' || f.endsWith('_id') || f.endsWith('.id')) && t !== 'keyword'), [], 'every id a keyword');
      const codec = domainCodec(spec.topic);
      const schema = JSON.parse(readFileSync(path.join(schemaDir, `${spec.topic}.avsc`), 'utf8')) as { fields: AvroField[] };
      assert.deepEqual(avroLeaves(schema.fields).filter((f) => !fields.has(f)), [], 'every Avro field has a mapping');
      const leaves = new Set(avroLeaves(schema.fields));
      assert.deepEqual([...fields.keys()].filter((f) => !leaves.has(f) && !f.endsWith('.keyword')), [], 'and nothing else is mapped');
      for (let i = 0; i < 20; i += 1) {
        const random = codec.decode(codec.encode(codec.type.random() as unknown as Record<string, unknown>));
        assert.deepEqual(documentPaths(documentOf({ topic: spec.topic, id: 'r', value: random }), fields).filter((f) => !fields.has(f)), []);
      }
    });
  }

  test('the registry: time field timestamp; refused audit events go to the dead-letter topic of the kind that wrote them', () => {
    assert.deepEqual([audit.kind, audit.kinds, audit.timeField, audit.savedObjects], ['openstack-audit', ['ror-audit', 'openstack-audit'], 'timestamp', 'audit']);
    assert.deepEqual([ops.kind, ops.kinds, ops.timeField, ops.savedObjects], ['oslo-log', undefined, 'timestamp', 'ops-logs']);
    assert.equal(deadLetterKind(audit, { 'tally-kind': Buffer.from('ror-audit') }), 'ror-audit');
    assert.equal(deadLetterKind(audit, { 'tally-kind': Buffer.from('oslo-log') }), 'openstack-audit', 'a kind that does not write the topic invents no topic');
    assert.equal(deadLetterKind(ops, { 'tally-kind': Buffer.from('oslo-log') }), 'oslo-log');
  });
});

describe('sink elasticsearch takes every record the audit-path normalisers make of the fixtures', { timeout: 180_000 }, () => {
  const client = esClient();
  const prefix = `${uniqueName('tally-sink-audit')}-`;
  after(async () => {
    await client.indices.delete({ index: `${prefix}*` }).catch(() => undefined);
    for (const base of ['audit-events', 'ops-logs']) {
      await client.indices.deleteIndexTemplate({ name: `${prefix}${base}` }).catch(() => undefined);
      await client.cluster.deleteComponentTemplate({ name: `${prefix}${base}-*` }).catch(() => undefined);
    }
    await client.close();
  });

  test('every ROR, OpenStack audit and oslo.log fixture record indexed as the record says; a refused ROR record reaches dlq.ror-audit', async () => {
    const bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('sinkaudit')}.`]);
    const admin = await bus.admin();
    await admin.createTopics([{ topic: bus.topic('audit.events'), partitions: 2 }, { topic: bus.topic('ops.logs'), partitions: 2 }, ...['ror-audit', 'openstack-audit', 'oslo-log'].map((k) => ({ topic: bus.topic(`dlq.${k}`) }))]);
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [audit, ops] });

    const byKind = auditPathKinds.map((kind) => ({ kind, records: fixtureEvents(kind) }));
    // one ROR record more, dated into a month whose index was made with user.id as a number
    const rorRecord = byKind[0]?.records[0] as NormalisedRecord;
    const refused: NormalisedRecord = { ...rorRecord, id: 'ror-refused', value: { ...rorRecord.value, id: 'ror-refused', timestamp: Date.UTC(2030, 0, 15) } };
    await client.indices.create({ index: `${prefix}audit-events-2030.01`, mappings: { properties: { user: { properties: { id: { type: 'long' } } } } } });
    const message = (kind: string, record: NormalisedRecord) => {
      const codec = domainCodec(record.topic);
      return { topic: bus.topic(record.topic), key: record.key ?? record.id, value: codec.encode(record.value), headers: { ...codec.headers, 'tally-kind': kind } };
    };
    const producer = await bus.producer();
    await producer.send([...byKind.flatMap(({ kind, records }) => records.map((r) => message(kind, r))), message('ror-audit', refused)]);
    const all = byKind.flatMap((k) => k.records);
    const auditCount = all.filter((r) => r.topic === 'audit.events').length;
    const opsCount = all.filter((r) => r.topic === 'ops.logs').length;
    assert.deepEqual([auditCount, opsCount], [38, 48]);

    const groupId = uniqueName('g');
    const sink = await startElasticsearchSink({ bus, client, log: testLog, groupId, indexPrefix: prefix, topics: [audit, ops], maxBackoffMs: 1000 });
    let dlq: Awaited<ReturnType<typeof bus.consumer>> | undefined;
    try {
      await eventually('every record handled and all offsets committed', 90_000, async () => {
        const lags = [...(await admin.groupOffsets(groupId, bus.topic('audit.events'))), ...(await admin.groupOffsets(groupId, bus.topic('ops.logs')))];
        return lags.every((o) => o.lag === 0 && Number(o.committed) > 0) ? true : undefined;
      });
      await client.indices.refresh({ index: `${prefix}*` });
      assert.equal((await client.count({ index: `${prefix}audit-events-*` })).count, auditCount, 'all audit events, none refused by the strict mapping');
      assert.equal((await client.count({ index: `${prefix}ops-logs-*` })).count, opsCount, 'all log events, each under its own id: the Kafka key of ops.logs is the request id, which the events of a request share');
      for (const record of all) {
        const stored = await client.get({ index: monthlyIndex(prefix, indexedTopic(record.topic).indexBase, record.value.timestamp as number), id: record.id });
        assert.deepEqual(stored._source, documentOf(record), `${record.topic} ${record.id}`);
      }

      const letters: DeadLetter[] = [];
      dlq = await bus.consumer({ groupId: uniqueName('dlq'), topics: ['ror-audit', 'openstack-audit', 'oslo-log'].map((k) => bus.topic(`dlq.${k}`)) });
      await dlq.run((messages) => {
        for (const m of messages) letters.push({ ...(JSON.parse(m.value?.toString() ?? '{}') as DeadLetter), topic: m.topic } as DeadLetter & { topic: string });
      });
      await eventually('the dead letter', 30_000, () => (letters.length >= 1 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(letters.length, 1);
      const [letter] = letters as (DeadLetter & { topic: string })[];
      assert.equal(letter?.topic, bus.topic('dlq.ror-audit'));
      assert.equal(letter?.kind, 'ror-audit');
      assert.equal(letter?.source?.key, 'ror-refused');
      assert.equal(letter?.reasons[0]?.rule, 'document_parsing_exception');
      assert.deepEqual(letter && decodeOriginal(letter.original), domainCodec('audit.events').encode(refused.value));
      assert.equal(sink.stats.deadLettered, 1);
    } finally {
      await dlq?.close();
      await sink.stop();
      await producer.close();
      await admin.close();
    }
  });
});
