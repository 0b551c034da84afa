import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { domainCodec } from '../../../pipeline/avro.js';
import type { Admin, Bus, IncomingMessage } from '../../../pipeline/bus/types.js';
import type { DeadLetter } from '../../../pipeline/dlq.js';
import { buildEnvelope } from '../../../pipeline/envelope.js';
import { startTransform } from '../../../pipeline/transform/stage.js';
import { backends, eventually, testBus, testLog, uniqueName } from '../../support/world.js';

const entry = (i: number, extra: Record<string, unknown> = {}) => JSON.stringify({ timestamp: `2026-11-0${1 + (i % 9)}T10:00:00Z`, serviceid: 'neanias-atmo-flud', level: 'accounting', userid: `user-${i % 7}`, resource: 'cpu', action: 'run', value: i, measure: 'time', ...extra });

async function readAll(bus: Bus, topic: string, expected: number): Promise<IncomingMessage[]> {
  const got: IncomingMessage[] = [];
  const consumer = await bus.consumer({ groupId: uniqueName('read'), topics: [topic], fromBeginning: true });
  await consumer.run((messages) => {
    got.push(...messages);
  });
  try {
    await eventually(`${expected} messages on ${topic}`, 60_000, () => (got.length >= expected ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.close({ commit: false });
  }
  return got;
}

for (const backend of backends) {
  describe(`transform stage on ${backend}`, { timeout: 180_000 }, () => {
    const admins: Admin[] = [];
    after(async () => {
      for (const admin of admins) await admin.close().catch(() => undefined);
    });

    test('valid lines become Avro accounting.usage records keyed by id, invalid ones dead letters with the original bytes and reasons, offsets committed', async () => {
      const bus = testBus(backend, [`kafka.topicPrefix=${uniqueName('tr')}.`]);
      const admin = await bus.admin();
      admins.push(admin);
      await admin.createTopics([{ topic: bus.topic('raw.accounting'), partitions: 2 }]);
      const producer = await bus.producer();
      const valid = Array.from({ length: 200 }, (_, i) => buildEnvelope({ message: entry(i), inputType: 'filestream', path: '/var/log/neanias/usage.json', offset: i * 200 }));
      // the shape Filebeat's own output.kafka writes
      const filebeat = { '@timestamp': '2026-11-05T10:00:00.000Z', '@metadata': { beat: 'filebeat', type: '_doc', version: '8.19.0' }, message: entry(999), log: { offset: 77, file: { path: '/data/x.json' } }, input: { type: 'filestream' }, host: { name: 'sp1' }, agent: { type: 'filebeat', version: '8.19.0' }, tags: ['accounting'] };
      const invalid = [entry(1, { value: '5,1' }), '{"timestamp": "2026-11-01T10:00:00Z", "level": "accounting"', entry(2, { level: 'debug' })].map((message, i) => buildEnvelope({ message, inputType: 'filestream', path: '/var/log/neanias/bad.json', offset: i * 100 }));
      const records = [...valid, filebeat, ...invalid].map((value, i) => ({ topic: bus.topic('raw.accounting'), key: `k${i % 5}`, value: JSON.stringify(value) }));
      await producer.send(records);
      // a replay of the same raw messages must yield the same record ids
      await producer.send(records.slice(0, 10));
      await producer.send([{ topic: bus.topic('raw.accounting'), key: 'bin', value: Buffer.from([0xff, 0xfe, 0x00, 0x41]) }]);
      await producer.close();

      const groupId = uniqueName('transform');
      const stage = await startTransform({ bus, log: testLog, groupId, kinds: ['accounting'], topics: { partitions: 2, replicationFactor: -1 }, maxBatchMessages: 64 });
      try {
        await eventually('the transform caught up and committed', 60_000, async () => {
          const offsets = await admin.groupOffsets(groupId, bus.topic('raw.accounting'));
          return offsets.length > 0 && offsets.every((o) => o.lag === 0) ? true : undefined;
        });
      } finally {
        await stage.stop();
      }
      const stats = stage.stats().accounting;
      assert.equal(stats?.in, records.length + 11);
      assert.equal(stats?.out, 211);
      assert.equal(stats?.rejected, 4);

      const codec = domainCodec('accounting.usage');
      const usage = await readAll(bus, bus.topic('accounting.usage'), 211);
      assert.equal(usage.length, 211);
      const ids = new Set(usage.map((m) => m.key?.toString()));
      assert.equal(ids.size, 201, 'the replayed ten collapse onto their first ids');
      for (const m of usage) {
        assert.deepEqual(Object.keys(m.headers), ['tally-schema-fingerprint'], 'one kind writes accounting.usage: the fingerprint is the only header');
        assert.equal(m.headers['tally-schema-fingerprint']?.toString(), codec.fingerprint);
        const value = codec.decode(m.value as Buffer);
        assert.equal(value.id, m.key?.toString());
      }
      const fromFilebeat = usage.map((m) => codec.decode(m.value as Buffer)).find((v) => v.value === 999);
      assert.deepEqual((fromFilebeat?.source as Record<string, unknown>).path, '/data/x.json');
      assert.equal((fromFilebeat?.source as Record<string, unknown>).host, 'sp1');

      const letters = (await readAll(bus, bus.topic('dlq.accounting'), 4)).map((m) => JSON.parse(m.value?.toString() ?? '{}') as DeadLetter);
      assert.equal(letters.length, 4);
      const byOffset = (offset: number) => letters.find((l) => l.source?.origin?.includes(`byte ${offset} of /var/log/neanias/bad.json`));
      assert.match(byOffset(0)?.reasons.map((r) => r.message).join(' ') ?? '', /value/);
      assert.equal(byOffset(1 * 100)?.reasons[0]?.code, 'RECORD_UNPARSABLE');
      assert.match(byOffset(2 * 100)?.reasons.map((r) => r.message).join(' ') ?? '', /level/);
      assert.equal(JSON.parse(byOffset(0)?.original.data ?? '{}').message, invalid[0]?.message, 'the original bytes are the raw envelope as it was in Kafka');
      const binary = letters.find((l) => l.original.encoding === 'base64');
      assert.deepEqual([...Buffer.from(binary?.original.data ?? '', 'base64')], [0xff, 0xfe, 0x00, 0x41]);
      assert.match(binary?.reasons[0]?.message ?? '', /not valid UTF-8/);
    });
  });
}

for (const exactlyOnce of [false, true]) describe(`transform joins oslo.log tracebacks per stream, committing no held line${exactlyOnce ? ' (exactly-once: in its transactions)' : ''}`, { timeout: 120_000 }, () => {
  test('a 30-line traceback becomes one event; the offsets of an unfinished event stay uncommitted until it is emitted', async () => {
    const { readFile } = await import('node:fs/promises');
    const { samplePath } = await import('../../../app/up/samples.js');
    const bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('tr-oslo')}.`]);
    const admin = await bus.admin();
    try {
      await admin.createTopics([{ topic: bus.topic('raw.oslo-log'), partitions: 1 }]);
      const lines = (await readFile(samplePath('oslo-log', 'nova-compute.log'), 'utf8')).trimEnd().split('\n');
      let offset = 0;
      const records = lines.map((message) => {
        const envelope = buildEnvelope({ message, inputType: 'filestream', path: '/var/log/nova/nova-compute.log', offset });
        offset += Buffer.byteLength(message) + 1;
        return { topic: bus.topic('raw.oslo-log'), key: 'compute-01:/var/log/nova/nova-compute.log', value: JSON.stringify(envelope) };
      });
      const producer = await bus.producer();
      await producer.send(records);
      await producer.close();
      const groupId = uniqueName('transform-oslo');
      const stage = await startTransform({ bus, log: testLog, groupId, kinds: ['oslo-log'], topics: { partitions: 1, replicationFactor: -1 }, maxBatchMessages: 1000, joinIdleMs: 3000, ...(exactlyOnce ? { exactlyOnce: { transactionalId: uniqueName('tr-oslo-tx'), transactionTimeoutMs: 10_000, maxRecordBytes: 900_000 } } : {}) });
      try {
        // the last event is held until no line follows it for joinIdleMs: its first line is not committed yet
        const held = await eventually('the complete events committed, the last one held', 30_000, async () => {
          const [partition] = await admin.groupOffsets(groupId, bus.topic('raw.oslo-log'));
          return partition && Number(partition.committed) > 0 && partition.lag > 0 ? partition : undefined;
        });
        assert.ok(held.lag >= 1 && held.lag < lines.length, `lag ${held.lag}: only the held event's lines are uncommitted`);
        await eventually('the held event emitted and committed after joinIdleMs', 30_000, async () => {
          const [partition] = await admin.groupOffsets(groupId, bus.topic('raw.oslo-log'));
          return partition?.lag === 0 ? true : undefined;
        });
      } finally {
        await stage.stop();
      }
      const codec = domainCodec('ops.logs');
      const events = (await readAll(bus, bus.topic('ops.logs'), 10)).map((m) => codec.decode(m.value as Buffer));
      assert.equal(events.length, 10, 'one event per record, tracebacks joined');
      const spawn = events.find((e) => String(e.message).startsWith('Instance failed to spawn'));
      assert.equal(String(spawn?.error_stack_trace ?? '').split('\n').length, 30, 'all 30 traceback lines in the stack trace');
    } finally {
      await admin.close();
    }
  });
});
