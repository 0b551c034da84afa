import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { installArchiveTemplate } from '../../../../connectors/sinks/archive/setup.js';
import { startArchive, type RunningArchive } from '../../../../connectors/sinks/archive/stage.js';
import type { ArchiveReason } from '../../../../connectors/sinks/archive/window.js';
import type { DeadLetter } from '../../../../pipeline/dlq.js';
import { readTopicToEnd } from '../../../../pipeline/bus/read-topic.js';
import type { Admin, IncomingMessage } from '../../../../pipeline/bus/types.js';
import { createEsClient } from '../../../../pipeline/elasticsearch/client.js';
import { esClient, eventually, testConfig, testLog, uniqueName } from '../../../support/world.js';
import { startEsProxy, type EsProxy } from '../elasticsearch/es-proxy.js';
import { expectedArchive } from './oracle.js';
import { archivedDocuments, codec, isolatedTopics, kafkaRecord, logRecord, removeArchive, requestId, windowEvent, type LogLine, type LogRecord } from './support.js';

const second = 1000;
const t0 = Date.UTC(2026, 2, 10, 12, 0, 0);
const at = (seconds: number): number => t0 + seconds * second;

/** A post-mortem's worth of nova, neutron and glance lines, each with what the archive must make of it. */
const scenario: { line: LogLine; expect: ArchiveReason | null; why: string }[] = [
  { line: { atMs: at(-200), service: 'nova', request: requestId(3) }, expect: null, why: 'a request long over' },
  { line: { atMs: at(-150), service: 'nova', request: requestId(3) }, expect: null, why: 'a request long over' },
  { line: { atMs: at(-100), service: 'nova', request: requestId(1) }, expect: null, why: 'the trigger\'s request, but 100 s before' },
  { line: { atMs: at(-50), service: 'nova', request: requestId(2) }, expect: 'service-window', why: 'another request in flight on nova' },
  { line: { atMs: at(-45), service: 'neutron', request: requestId(2) }, expect: 'service-window', why: 'that request\'s neutron line' },
  { line: { atMs: at(-30), service: 'nova', request: requestId(1) }, expect: 'request', why: 'the trigger\'s request' },
  { line: { atMs: at(-20), service: 'nova', request: requestId(81), globalRequest: requestId(80) }, expect: 'service-window', why: 'a global request in flight on nova' },
  { line: { atMs: at(-15), service: 'neutron', request: requestId(82), globalRequest: requestId(80) }, expect: 'service-window', why: 'the same global request in neutron, another local id' },
  { line: { atMs: at(-10), service: 'neutron', request: requestId(4) }, expect: null, why: 'a request only on neutron' },
  { line: { atMs: at(0), service: 'nova', request: requestId(1), level: 'WARNING', message: 'Instance failed to spawn: disk full' }, expect: 'trigger', why: 'the WARNING' },
  { line: { atMs: at(10), service: 'nova' }, expect: null, why: 'no request' },
  { line: { atMs: at(10), service: 'neutron', request: requestId(4) }, expect: null, why: 'a request only on neutron' },
  { line: { atMs: at(20), service: 'nova', request: requestId(1) }, expect: 'request', why: 'the trigger\'s request' },
  { line: { atMs: at(55), service: 'nova', request: requestId(5) }, expect: 'service-window', why: 'a request starting within the window' },
  { line: { atMs: at(65), service: 'nova', request: requestId(5) }, expect: null, why: 'that request, but 65 s after' },
  { line: { atMs: at(70), service: 'nova', request: requestId(2) }, expect: null, why: 'a request in flight, but this line 70 s after' },
  { line: { atMs: at(90), service: 'nova', request: requestId(1) }, expect: null, why: 'the trigger\'s request, but 90 s after' },
  { line: { atMs: at(1000), service: 'glance', request: requestId(6), level: 'ERROR', message: 'Failed to upload image data' }, expect: 'trigger', why: 'an ERROR on glance' },
  { line: { atMs: at(1005), service: 'nova', request: requestId(1) }, expect: null, why: 'not on glance' },
  { line: { atMs: at(1010), service: 'glance', request: requestId(6) }, expect: 'request', why: 'the ERROR\'s request' },
  { line: { atMs: at(1030), service: 'glance', request: requestId(7) }, expect: 'service-window', why: 'in flight on glance' },
];

describe('tally archive on the real Kafka and Elasticsearch', { timeout: 180_000 }, () => {
  const client = esClient();
  const admins: Admin[] = [];
  const topics: string[] = [];
  const stages: RunningArchive[] = [];
  const indexPrefixes: string[] = [];
  const proxies: EsProxy[] = [];
  after(async () => {
    for (const stage of stages) await stage.stop().catch(() => undefined);
    for (const proxy of proxies) await proxy.close();
    for (const admin of admins) {
      await admin.deleteTopics(topics).catch(() => undefined);
      await admin.close().catch(() => undefined);
    }
    for (const prefix of indexPrefixes) await removeArchive(client, prefix);
    await client.close();
  });

  test('a WARNING in the middle of a request: the archive holds it, its request and the requests in flight on its service within ±60 s, and nothing else; a replay overwrites', async () => {
    const { bus, admin } = await isolatedTopics(3);
    admins.push(admin);
    topics.push(bus.topic('ops.logs'), bus.topic('dlq.oslo-log'));
    const indexPrefix = `${uniqueName('tally-arch')}-`;
    indexPrefixes.push(indexPrefix);
    await installArchiveTemplate(client, indexPrefix);

    const records = scenario.map((s) => logRecord(s.line));
    // one late INFO line per partition moves event time past every window
    const clocks = [0, 1, 2].map((p) => ({ partition: p, record: logRecord({ atMs: at(3600 + p), service: 'keystone' }) }));
    const producer = await bus.producer();
    await producer.send([...records.map((r) => kafkaRecord(bus, r)), ...clocks.map((c) => kafkaRecord(bus, c.record, c.partition))]);
    await producer.close();

    const settings = { windowMs: 60 * second, requestWindowMs: 60 * second, minLevelNumber: 30 };
    const oracle = expectedArchive([...records, ...clocks.map((c) => c.record)].map(windowEvent), settings);
    scenario.forEach((s, i) => {
      const record = records[i] as LogRecord;
      const reasons = [...(oracle.get(record.id)?.values() ?? [])];
      assert.deepEqual(reasons, s.expect ? [s.expect] : [], `the requirement and this test agree on ${s.why}`);
    });
    const wanted = scenario.map((s, i) => ({ ...s, record: records[i] as LogRecord })).filter((s) => s.expect !== null);

    const groupId = uniqueName('archive');
    const stage = await startArchive({ bus, client, log: testLog, indexPrefix, config: { groupId, tickMs: 100 } });
    stages.push(stage);
    const documents = await eventually('the archive documents', 60_000, async () => {
      const docs = await archivedDocuments(client, indexPrefix);
      return docs.length >= wanted.length ? docs : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await archivedDocuments(client, indexPrefix)).length, wanted.length, 'nothing else arrives');
    assert.deepEqual(documents.map((d) => d.id).sort(), wanted.map((w) => w.record.id).sort(), 'exactly the trigger, its request and the requests in flight');

    const warning = records[9] as LogRecord;
    const error = records[17] as LogRecord;
    for (const w of wanted) {
      const document = documents.find((d) => d.id === w.record.id);
      assert.ok(document);
      assert.equal(document.index, `${indexPrefix}ops-archive-2026.03`, 'the event\'s month');
      assert.equal(document.source.id, w.record.id);
      assert.equal(document.source.message, w.record.value.message, 'the event itself, as ops-logs has it');
      assert.equal(document.source.timestamp, new Date(w.line.atMs).toISOString());
      const trigger = w.line.service === 'glance' ? error : warning;
      assert.deepEqual(document.source.archive.reasons, [w.expect], w.why);
      assert.equal(document.source.archive.triggers.length, 1);
      assert.deepEqual(document.source.archive.triggers[0], {
        id: trigger.id,
        timestamp: new Date(trigger.line.atMs).toISOString(),
        level: trigger.line.level,
        level_number: trigger.line.level === 'ERROR' ? 40 : 30,
        service: trigger.line.service,
        request_id: trigger.line.request,
        reason: w.expect,
        distance_ms: Math.abs(w.line.atMs - trigger.line.atMs),
      });
      assert.equal(document.source.archive.triggers_truncated, false);
    }

    const end = await eventually('everything before the held clock lines committed', 30_000, async () => {
      const offsets = await admin.groupOffsets(groupId, bus.topic('ops.logs'));
      // a partition that holds nothing but its clock line has nothing to commit
      return offsets.every((o) => Number(o.committed) === Number(o.end) - 1 || (o.end === '1' && o.committed === '-1')) ? offsets : undefined;
    });
    assert.equal(end.length, 3, 'each partition is committed up to its clock line, which a later trigger could still want');
    const stats = stage.stats();
    assert.equal(stats.written, wanted.length);
    assert.equal(stats.late + stats.evicted + stats.undecodable + stats.deadLettered, 0);
    assert.equal(stats.buffered, 3);
    await stage.stop();

    const replay = await startArchive({ bus, client, log: testLog, indexPrefix, config: { groupId: uniqueName('archive-replay'), tickMs: 100 } });
    stages.push(replay);
    const again = await eventually('the replay rewrote every document', 60_000, async () => {
      const docs = await archivedDocuments(client, indexPrefix);
      return docs.every((d) => d.version >= 2) ? docs : undefined;
    });
    assert.equal(again.length, wanted.length, 'overwritten, not doubled');
    for (const d of again) {
      const first = documents.find((f) => f.id === d.id);
      assert.deepEqual(d.source.archive, first?.source.archive, 'the same triggers, and the first archival time kept');
    }
    await replay.stop();
  });

  test('Elasticsearch away, then overloaded: nothing is committed meanwhile, then every entry is written once', async () => {
    const { bus, admin } = await isolatedTopics(3);
    admins.push(admin);
    topics.push(bus.topic('ops.logs'), bus.topic('dlq.oslo-log'));
    const indexPrefix = `${uniqueName('tally-arch')}-`;
    indexPrefixes.push(indexPrefix);
    await installArchiveTemplate(client, indexPrefix);
    const records = scenario.map((s) => logRecord(s.line));
    const producer = await bus.producer();
    await producer.send([...records.map((r) => kafkaRecord(bus, r)), ...[0, 1, 2].map((p) => kafkaRecord(bus, logRecord({ atMs: at(3600 + p), service: 'keystone' }), p))]);
    await producer.close();
    const wanted = scenario.map((s, i) => ({ ...s, record: records[i] as LogRecord })).filter((s) => s.expect !== null);

    const proxy = await startEsProxy(testConfig().elasticsearch.url, 0, 'unavailable');
    proxies.push(proxy);
    const proxied = createEsClient({ ...testConfig().elasticsearch, url: proxy.url });
    const groupId = uniqueName('archive');
    const stage = await startArchive({ bus, client: proxied, log: testLog, indexPrefix, config: { groupId, tickMs: 100, maxBackoffMs: 400 } });
    stages.push(stage);
    await eventually('writes refused a few times', 30_000, () => (stage.stats().retried >= 3 * wanted.length ? true : undefined));
    const where = new Map<string, { partition: number; offset: number }>();
    await readTopicToEnd(bus, bus.topic('ops.logs'), (m) => void where.set(codec.decode(m.value as Buffer).id as string, { partition: m.partition, offset: Number(m.offset) }));
    for (const o of await admin.groupOffsets(groupId, bus.topic('ops.logs'))) {
      const firstArchived = Math.min(...wanted.map((w) => where.get(w.record.id)).filter((at) => at?.partition === o.partition).map((at) => at?.offset as number));
      assert.ok(Number(o.committed) <= firstArchived, `partition ${o.partition}: committed ${o.committed}, past an archive entry at ${firstArchived}, while Elasticsearch answers 503`);
    }
    assert.equal((await archivedDocuments(client, indexPrefix)).length, 0);

    proxy.partialRequests = 2;
    proxy.mode = 'partial';
    await eventually('everything before the clock lines committed', 60_000, async () => {
      const offsets = await admin.groupOffsets(groupId, bus.topic('ops.logs'));
      return offsets.every((o) => Number(o.committed) === Number(o.end) - 1 || (o.end === '1' && o.committed === '-1')) ? true : undefined;
    });
    assert.ok(proxy.heldBack > 0, 'some bulk items came back 429 or 503 and were written again');
    const documents = await archivedDocuments(client, indexPrefix);
    assert.deepEqual(documents.map((d) => d.id).sort(), wanted.map((w) => w.record.id).sort());
    assert.ok(documents.every((d) => d.version === 1), 'each written once: only what Elasticsearch did not take was sent again');
    await stage.stop();
    await proxied.close();
  });

  test('a document Elasticsearch refuses goes to dlq.oslo-log with the reason, and the commit passes it', async () => {
    const { bus, admin, prefix } = await isolatedTopics(1);
    admins.push(admin);
    topics.push(bus.topic('ops.logs'), bus.topic('dlq.oslo-log'));
    const indexPrefix = `${uniqueName('tally-arch')}-`;
    indexPrefixes.push(indexPrefix);
    await installArchiveTemplate(client, indexPrefix);
    // an index whose mapping an operator changed by hand: message is no longer text
    await client.indices.create({ index: `${indexPrefix}ops-archive-2026.04`, mappings: { properties: { message: { type: 'long' } } } });
    const aprilWarning = logRecord({ atMs: Date.UTC(2026, 3, 2, 9), service: 'cinder', request: requestId(9), level: 'WARNING', message: 'volume stuck in detaching' });
    const clock = logRecord({ atMs: Date.UTC(2026, 3, 2, 10), service: 'cinder' });
    const producer = await bus.producer();
    await producer.send([kafkaRecord(bus, aprilWarning), kafkaRecord(bus, clock)]);
    await producer.close();

    const groupId = uniqueName('archive');
    const stage = await startArchive({ bus, client, log: testLog, indexPrefix, config: { groupId, tickMs: 100 } });
    stages.push(stage);
    const letters = await eventually('the dead letter', 60_000, async () => {
      const read: IncomingMessage[] = [];
      await readTopicToEnd(bus, bus.topic('dlq.oslo-log'), (m) => void read.push(m), { timeoutMs: 10_000 });
      return read.length ? read : undefined;
    });
    const letter = JSON.parse(letters[0]?.value?.toString('utf8') ?? '{}') as DeadLetter;
    assert.equal(letter.stage, 'archive');
    assert.equal(letter.kind, 'oslo-log');
    assert.equal(letter.source?.key, aprilWarning.id);
    assert.equal(letter.source?.topic, `${prefix}ops.logs`);
    assert.equal(letter.reasons[0]?.code, 'ES_PERMANENT');
    assert.match(letter.reasons[0]?.message ?? '', /message/);
    await eventually('the refused event committed', 30_000, async () => {
      const [offsets] = await admin.groupOffsets(groupId, bus.topic('ops.logs'));
      return offsets && Number(offsets.committed) === 1 ? true : undefined;
    });
    assert.equal(stage.stats().deadLettered, 1);
    await stage.stop();
  });
});
