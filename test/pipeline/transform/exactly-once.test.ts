import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { domainCodec } from '../../../pipeline/avro.js';
import type { Admin, Bus, IncomingMessage } from '../../../pipeline/bus/types.js';
import { buildEnvelope } from '../../../pipeline/envelope.js';
import { startTransform } from '../../../pipeline/transform/stage.js';
import { backends, eventually, testBus, testConfig, testLog, uniqueName } from '../../support/world.js';

const entry = (i: number, extra: Record<string, unknown> = {}) => JSON.stringify({ timestamp: '2026-11-03T10:00:00Z', serviceid: 'neanias-atmo-flud', level: 'accounting', userid: `user-${i % 7}`, resource: `cpu-${i}`, action: 'run', value: i, measure: 'time', ...extra });

/** Every record of the topic through the bus (read committed), until `expected` arrived and the group's lag is 0: the commit markers are stepped over. */
async function readCommitted(bus: Bus, admin: Admin, topic: string, expected: number): Promise<IncomingMessage[]> {
  const got: IncomingMessage[] = [];
  const groupId = uniqueName('eos-read');
  const consumer = await bus.consumer({ groupId, topics: [topic], fromBeginning: true, commitIntervalMs: 50 });
  await consumer.run((messages) => {
    for (const m of messages) {
      got.push(m);
      consumer.done(m);
    }
  });
  try {
    await eventually(`${expected} records on ${topic} and the reader's lag 0`, 60_000, async () => {
      if (got.length < expected) return undefined;
      const offsets = await admin.groupOffsets(groupId, topic);
      return offsets.every((o) => o.lag === 0) ? true : undefined;
    });
    // read on a little: a record produced twice would show now
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await consumer.close();
  }
  return got;
}

for (const backend of backends) {
  describe(`exactly-once transform on ${backend}`, { timeout: 240_000 }, () => {
    const admins: Admin[] = [];
    after(async () => {
      for (const admin of admins) await admin.close().catch(() => undefined);
    });

    test('records, dead letters and offsets commit in transactions: every id once for a read-committed reader, whose lag reaches 0 past the commit markers', async () => {
      const bus = testBus(backend, [`kafka.topicPrefix=${uniqueName('eos')}.`]);
      const admin = await bus.admin();
      admins.push(admin);
      await admin.createTopics([{ topic: bus.topic('raw.accounting'), partitions: 2 }]);
      const producer = await bus.producer();
      const raw = (i: number, message: string) => ({ topic: bus.topic('raw.accounting'), key: `k${i % 5}`, value: JSON.stringify(buildEnvelope({ message, inputType: 'filestream', path: '/var/log/usage.json', offset: i * 100 })) });
      await producer.send([...Array.from({ length: 300 }, (_, i) => raw(i, entry(i))), raw(1000, entry(1000, { value: '5,1' })), raw(1001, entry(1001, { level: 'debug' }))]);
      await producer.close();

      const groupId = uniqueName('eos-transform');
      const stage = await startTransform({ bus, log: testLog, groupId, kinds: ['accounting'], topics: { partitions: 2, replicationFactor: -1 }, maxBatchMessages: 40, exactlyOnce: { transactionalId: uniqueName('eos-tx'), transactionTimeoutMs: 10_000, maxRecordBytes: 900_000 } });
      try {
        await eventually('the transform committed every raw offset in its transactions', 90_000, async () => {
          const offsets = await admin.groupOffsets(groupId, bus.topic('raw.accounting'));
          return offsets.length === 2 && offsets.every((o) => o.lag === 0) ? true : undefined;
        });
      } finally {
        await stage.stop();
      }
      const usage = await readCommitted(bus, admin, bus.topic('accounting.usage'), 300);
      const codec = domainCodec('accounting.usage');
      const ids = usage.map((m) => String(codec.decode(m.value as Buffer).id));
      assert.equal(ids.length, 300);
      assert.equal(new Set(ids).size, 300, 'each id once');
      const letters = await readCommitted(bus, admin, bus.topic('dlq.accounting'), 2);
      assert.equal(letters.length, 2);
      const end = (await admin.groupOffsets('nobody', bus.topic('accounting.usage'))).reduce((n, o) => n + Number(o.end), 0);
      assert.ok(end > 300, `the domain topic holds commit markers besides its 300 records (end offsets ${end})`);
    });

    test('the records of an aborted transaction are never delivered to a bus consumer', async () => {
      const bus = testBus(backend, [`kafka.topicPrefix=${uniqueName('eos-abort')}.`]);
      const admin = await bus.admin();
      admins.push(admin);
      const topic = bus.topic('accounting.usage');
      await admin.createTopics([{ topic, partitions: 1 }]);
      const client = new kafkajs.Kafka({ brokers: testConfig().kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
      const writer = client.producer({ transactionalId: uniqueName('eos-abort-tx'), idempotent: true, maxInFlightRequests: 1 });
      await writer.connect();
      try {
        const aborted = await writer.transaction();
        await aborted.send({ topic, messages: [{ key: 'aborted', value: 'aborted' }] });
        await aborted.abort();
        const committed = await writer.transaction();
        await committed.send({ topic, messages: [{ key: 'committed', value: 'committed' }] });
        await committed.commit();
      } finally {
        await writer.disconnect();
      }
      const got = await readCommitted(bus, admin, topic, 1);
      assert.deepEqual(got.map((m) => m.key?.toString()), ['committed']);
    });
  });
}

for (const backend of backends) {
  test(`${backend}: a transactional consumer never hands over again what its own transactions committed, even when the group's offset it reads back is older (the commit markers not yet written)`, { timeout: 120_000 }, async () => {
    const bus = testBus(backend, [`kafka.topicPrefix=${uniqueName('eos-floor')}.`]);
    const admin = await bus.admin();
    const topic = bus.topic('raw.accounting');
    await admin.createTopics([{ topic, partitions: 1 }]);
    const producer = await bus.producer();
    await producer.send(Array.from({ length: 20 }, (_, i) => ({ topic, key: 'k', value: `first-${i}` })));
    const consumer = await bus.consumer({ groupId: uniqueName('eos-floor'), topics: [topic], fromBeginning: true, transactional: true });
    const got: string[] = [];
    await consumer.run((messages) => {
      for (const m of messages) {
        got.push(String(m.value));
        consumer.done(m);
      }
    });
    try {
      await eventually('the first 20 records handed over', 60_000, async () => (got.length >= 20 ? true : undefined));
      // what a transaction of this process committed, while the broker still answers with no committed offset at all
      consumer.committedInTransaction([{ topic, partition: 0, offset: '20' }]);
      await consumer.rewind();
      await producer.send(Array.from({ length: 5 }, (_, i) => ({ topic, key: 'k', value: `second-${i}` })));
      await eventually('the 5 later records handed over', 60_000, async () => (got.some((v) => v === 'second-4') ? true : undefined));
      assert.deepEqual(got.slice(20), ['second-0', 'second-1', 'second-2', 'second-3', 'second-4'], 'after the rewind only what lies past the own commit');
    } finally {
      await consumer.close();
      await producer.close();
      await admin.close();
    }
  });
}
