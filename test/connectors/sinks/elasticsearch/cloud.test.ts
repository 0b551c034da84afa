import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { serialiseDocument, type IndexableDocument } from '../../../../connectors/sinks/elasticsearch/avro-document.js';
import { prepareBatch } from '../../../../connectors/sinks/elasticsearch/batch.js';
import { installIndexTemplates } from '../../../../connectors/sinks/elasticsearch/setup.js';
import { startElasticsearchSink } from '../../../../connectors/sinks/elasticsearch/sink.js';
import { familyMappings, mappedFields, templateSet } from '../../../../connectors/sinks/elasticsearch/templates.js';
import { deadLetterKind, indexedTopic, indexedTopics } from '../../../../connectors/sinks/elasticsearch/topics.js';
import { domainCodec } from '../../../../pipeline/avro.js';
import type { IncomingMessage, OutgoingRecord } from '../../../../pipeline/bus/types.js';
import { decodeOriginal, type DeadLetter } from '../../../../pipeline/dlq.js';
import { buildEnvelope } from '../../../../pipeline/envelope.js';
import { normaliserFor, type NormalisedRecord } from '../../../../pipeline/normalise/index.js';
import { transformMessage } from '../../../../pipeline/transform/transform-message.js';
import { esClient, eventually, testBus, testLog, uniqueName } from '../../../support/world.js';
import { apelFixture, apelFixtureNames, casoFixture } from '../../../pipeline/normalise/cloud-fixtures.js';
import { casoLine, cloudDocument, cloudTopicNames, cloudTopics, normalised, removeCloudIndices } from './cloud-records.js';

type CloudKind = 'apel-message' | 'caso-json';
const casoFixtureNames = ['cloud.ndjson', 'ip.ndjson', 'accelerator.ndjson', 'storage.ndjson', 'energy.ndjson'];
/** every fixture message whose records all pass (the two with a bad record are the normaliser's tests) */
const apelMessages = apelFixtureNames().filter((name) => !name.includes('bad-record')).map(apelFixture);
const casoLines = casoFixtureNames.flatMap((name) => casoFixture(name).map((l) => l.line));

const headerBytes = (headers: Record<string, string>): Record<string, Buffer> => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]));

/** The Avro field paths of a schema (records walked into, arrays of records too). */
function avroPaths(type: unknown, prefix = ''): string[] {
  const fields = (type as { fields?: { name: string; type: unknown }[] }).fields ?? [];
  return fields.flatMap((field) => {
    const inner = (field.type as { types?: unknown[]; itemsType?: unknown }).types?.find((t) => (t as { typeName?: string }).typeName !== 'null') ?? field.type;
    const record = (inner as { itemsType?: unknown }).itemsType ?? inner;
    return (record as { fields?: unknown }).fields ? avroPaths(record, `${prefix}${field.name}.`) : [`${prefix}${field.name}`];
  });
}

describe('the cloud.* entries of the Elasticsearch sink', () => {
  test('the registry: the five cloud topics by measurement_time, dead letters by their kind, the Cloud usage dashboard; accounting as it was', () => {
    assert.deepEqual(
      indexedTopics.filter((t) => t.topic === 'accounting.usage' || t.topic.startsWith('cloud.')).map((t) => [t.topic, t.kind, t.kinds ?? null, t.indexBase, t.timeField, t.savedObjects, t.versioned ?? false]),
      [
        ['accounting.usage', 'accounting', null, 'accounting-usage', 'timestamp', 'accounting', false],
        ...cloudTopicNames.map((topic) => [topic, 'apel-message', ['apel-message', 'caso-json'], topic.replace('.', '-'), 'measurement_time', 'cloud-usage', true]),
      ],
    );
  });

  test("a refused record goes to the dead-letter topic of the kind the transform wrote in tally-kind; without it (or naming a kind that does not write the topic) to the topic's default", () => {
    const vm = indexedTopic('cloud.vm');
    assert.equal(deadLetterKind(vm, { 'tally-kind': Buffer.from('caso-json') }), 'caso-json');
    assert.equal(deadLetterKind(vm, { 'tally-kind': Buffer.from('apel-message') }), 'apel-message');
    assert.equal(deadLetterKind(vm, {}), 'apel-message');
    assert.equal(deadLetterKind(vm, { 'tally-kind': Buffer.from('accounting') }), 'apel-message');
    assert.equal(deadLetterKind(indexedTopic('accounting.usage'), { 'tally-kind': Buffer.from('caso-json') }), 'accounting');
    const garbage: IncomingMessage = { topic: 't', partition: 0, offset: '7', key: Buffer.from('k'), value: Buffer.from('not avro'), headers: { 'tally-kind': Buffer.from('caso-json') }, timestamp: 0, generation: 1 };
    assert.deepEqual(prepareBatch([garbage], () => vm, 'monthly', 'p-').rejected.map((r) => [r.kind, r.reasons[0]?.code]), [['caso-json', 'RECORD_UNPARSABLE']]);
  });

  for (const topic of cloudTopicNames) {
    test(`${topic}: the template maps exactly the Avro fields, strictly, with the types the schema gives`, () => {
      const spec = indexedTopic(topic);
      const mappings = familyMappings(templateSet(spec.indexBase, { prefix: 'x-', layout: 'monthly', ilm: false }));
      assert.equal(mappings.dynamic, 'strict');
      const fields = mappedFields(mappings.properties);
      assert.deepEqual([...fields.keys()].sort(), avroPaths(domainCodec(topic).type).sort());
      assert.equal(fields.get('id'), 'keyword');
      assert.equal(fields.get('measurement_time'), 'date');
      assert.equal(fields.get('accounting_month'), 'keyword');
      assert.equal(fields.get('source.record_number'), 'integer');
    });
  }
});

describe('sink elasticsearch: the cloud.* topics on the real Kafka and Elasticsearch', { timeout: 180_000 }, () => {
  const client = esClient();
  const prefixes: string[] = [];
  const fresh = (): string => {
    const prefix = `${uniqueName('tally-cloudsink')}-`;
    prefixes.push(prefix);
    return prefix;
  };
  after(async () => {
    for (const prefix of prefixes) await removeCloudIndices(client, prefix);
    await client.close();
  });

  test('records of all five types from both kinds indexed by id with every field; the latest snapshot stays; refusals go to dlq.<the record\'s kind>; offsets committed', async () => {
    const prefix = fresh();
    const bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('cloudsink')}.`]);
    const admin = await bus.admin();
    await admin.createTopics([...cloudTopicNames.map((t) => ({ topic: bus.topic(t), partitions: 2 })), { topic: bus.topic('dlq.apel-message') }, { topic: bus.topic('dlq.caso-json') }]);
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: cloudTopics() });
    // January 2023 of cloud-vm was created with site_name as a number: a VM record of that month is refused
    await client.indices.create({ index: `${prefix}cloud-vm-2023.01`, mappings: { properties: { site_name: { type: 'long' } } } });

    // what `tally transform` writes for each raw message: Avro records with tally-kind; APEL's queue first, then cASO's JSON dumps
    let offset = 0;
    const transformed = (kind: CloudKind, message: string): OutgoingRecord[] => {
      const raw = buildEnvelope({ message, inputType: kind === 'caso-json' ? 'http' : 'apel-queue' });
      const incoming: IncomingMessage = { topic: bus.topic(`raw.${kind}`), partition: 0, offset: String((offset += 1)), key: null, value: Buffer.from(JSON.stringify(raw)), headers: {}, timestamp: Date.now(), generation: 1 };
      const out = transformMessage(incoming, kind, normaliserFor(kind), bus.topic);
      assert.deepEqual(out.deadLetters, [], `${kind} ${message.slice(0, 60)}`);
      return out.records;
    };
    const january = Date.UTC(2023, 0, 10) / 1000;
    const refusedApel = `APEL-cloud-message: v0.4\nVMUUID: 9e000000-0000-4000-8000-00000000a001\nSiteName: OLD-SITE\nStatus: completed\nStartTime: ${january}\nEndTime: ${january + 3600}\nWallDuration: 3600\nCpuCount: 1\nCpuDuration: 3600\n`;
    const refusedCaso = casoLine(casoLines[1] as string, { VMUUID: '9e000000-0000-4000-8000-00000000c001', StartTime: january, EndTime: january + 7200, WallDuration: 7200, CpuDuration: 7200 });
    const accepted = [...apelMessages.flatMap((m) => transformed('apel-message', m)), ...casoLines.flatMap((l) => transformed('caso-json', l))];
    const refused = [...transformed('apel-message', refusedApel), ...transformed('caso-json', refusedCaso)];
    const garbage: OutgoingRecord = { topic: bus.topic('cloud.ip'), key: 'garbage', value: Buffer.from('not avro at all'), headers: { ...domainCodec('cloud.ip').headers, 'tally-kind': 'caso-json' } };
    const producer = await bus.producer();
    await producer.send([...accepted, ...refused, garbage]);

    const groupId = uniqueName('g');
    const sink = await startElasticsearchSink({ bus, client, log: testLog, groupId, indexPrefix: prefix, topics: cloudTopics(), maxBackoffMs: 1000 });
    try {
      await eventually('every record handled and all offsets committed', 90_000, async () => {
        for (const topic of cloudTopicNames) {
          const offsets = await admin.groupOffsets(groupId, bus.topic(topic));
          if (!offsets.every((o) => o.lag === 0 && (o.end === '0' || Number(o.committed) > 0))) return undefined;
        }
        return true;
      });

      // each id's document is its latest snapshot (by measurement time; of equal ones the last sent), every field as the normaliser made it
      const latest = new Map<string, IndexableDocument>();
      for (const record of accepted) {
        const topic = cloudTopicNames.find((t) => bus.topic(t) === record.topic) as string;
        const snapshot = indexedTopic(topic).toDocument({ value: record.value as Buffer, headers: headerBytes(domainCodec(topic).headers) });
        const slot = `${topic}\u0000${String(record.key)}`;
        if ((latest.get(slot)?.timeMs ?? -Infinity) <= (snapshot.timeMs as number)) latest.set(slot, snapshot);
      }
      await client.indices.refresh({ index: `${prefix}cloud-*` });
      for (const topic of cloudTopicNames) {
        const spec = indexedTopic(topic);
        const expected = [...latest.entries()].filter(([slot]) => slot.startsWith(`${topic}\u0000`)).map(([, snapshot]) => snapshot);
        const stored = await client.search<Record<string, unknown>>({ index: `${prefix}${spec.indexBase}-*`, size: 100 });
        assert.equal(stored.hits.hits.length, expected.length, `${topic}: one document per record id`);
        const byId = new Map(stored.hits.hits.map((h) => [h._id, h._source]));
        for (const { id, document } of expected) assert.deepEqual(byId.get(id as string), JSON.parse(serialiseDocument(document)), `${topic} ${id}`);
      }
      const vmA = await client.search<{ wall_duration_seconds: number; cpu_hours: number; source: { format: string } }>({ index: `${prefix}cloud-vm-*`, query: { bool: { filter: [{ term: { vm_uuid: '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11' } }, { term: { cloud_compute_service: 'CESGA-CLOUD-OpenStack' } }] } } });
      assert.deepEqual(vmA.hits.hits.map((h) => [h._source?.wall_duration_seconds, h._source?.cpu_hours, h._source?.source.format]), [[271_800, 302, 'cASO JSON']], 'the running VM once, at its latest snapshot');

      const letters: DeadLetter[] = [];
      const dlq = await bus.consumer({ groupId: uniqueName('dlq'), topics: [bus.topic('dlq.apel-message'), bus.topic('dlq.caso-json')] });
      await dlq.run((messages) => {
        for (const m of messages) letters.push(JSON.parse(m.value?.toString() ?? '{}') as DeadLetter);
      });
      await eventually('three dead letters', 30_000, () => (letters.length >= 3 ? true : undefined));
      await dlq.close();
      assert.equal(letters.length, 3);
      const byKey = new Map(letters.map((l) => [l.source?.key, l]));
      for (const [record, kind] of [[refused[0], 'apel-message'], [refused[1], 'caso-json']] as const) {
        const letter = byKey.get(String(record?.key));
        assert.equal(letter?.kind, kind, 'the dead letter names the kind the record came from');
        assert.equal(letter?.stage, 'sink-elasticsearch');
        assert.equal(letter?.reasons[0]?.rule, 'document_parsing_exception');
        assert.match(letter?.reasons[0]?.message ?? '', /failed to parse field \[site_name\] of type \[long\]/);
        assert.deepEqual(letter && decodeOriginal(letter.original), record?.value, 'the original Avro bytes');
      }
      assert.equal(byKey.get('garbage')?.kind, 'caso-json');
      assert.equal(byKey.get('garbage')?.reasons[0]?.code, 'RECORD_UNPARSABLE');
      assert.equal(sink.stats.deadLettered, 3);
      assert.equal(sink.stats.indexed + sink.stats.skipped, accepted.length, 'each accepted record indexed, or superseded by a later one of its id in the same batch');
    } finally {
      await sink.stop();
      await producer.close();
      await admin.close();
    }
  });

  test('the strict mappings take whatever the normalisers accept: cASO records with a key changed to any value, or left out', async () => {
    const prefix = fresh();
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: cloudTopics() });
    const variant = fc
      .tuple(
        fc.constantFrom(...casoLines),
        fc.nat(),
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 40 }),
          fc.constant('€'.repeat(11_000)),
          fc.integer({ min: 0, max: 253402300799 }),
          fc.maxSafeNat(),
          fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
          fc.constantFrom(0, 1, '', null, true),
          fc.constant(undefined),
        ),
      )
      .map(([line, at, value]) => {
        const fields = JSON.parse(line) as Record<string, unknown>;
        const key = Object.keys(fields)[at % Object.keys(fields).length] as string;
        return JSON.stringify({ ...fields, [key]: value });
      });
    const seed = Date.now() % 2 ** 31;
    const records: NormalisedRecord[] = fc.sample(variant, { numRuns: 500, seed }).flatMap((message) => normaliserFor('caso-json').normalise(buildEnvelope({ message, inputType: 'http' })).records);
    records.push(...casoLines.flatMap((line) => normalised('caso-json', line)));
    assert.ok(records.length > 150, `${records.length} records accepted (seed ${seed})`);
    // one index per family, whatever month a record names: hundreds of monthly indices would be shards for nothing
    const operations = records.flatMap((record) => [{ index: { _index: `${prefix}${indexedTopic(record.topic).indexBase}-fuzz` } }, cloudDocument(prefix, record).document]);
    const response = await client.bulk({ operations });
    assert.deepEqual(response.items.flatMap((item, i) => (item.index?.error ? [{ error: item.index.error, document: operations[i * 2 + 1] }] : [])), [], `fast-check seed ${seed}`);
    assert.deepEqual(new Set(records.map((r) => r.topic)), new Set(cloudTopicNames), 'every record type among them');
  });
});
