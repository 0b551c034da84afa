import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bus, Consumer, IncomingMessage } from '../../../pipeline/bus/types.js';
import { backends, eventually, testBus, uniqueName } from '../../support/world.js';

/**
 * One contract, two backends, the real broker. Every test uses its own topic and group.
 */
interface Seen {
  byConsumer: Map<string, IncomingMessage[]>;
  all: IncomingMessage[];
}

async function startConsumer(bus: Bus, name: string, groupId: string, topic: string, seen: Seen, options: { markDone?: (m: IncomingMessage) => boolean; commitIntervalMs?: number } = {}): Promise<Consumer> {
  const consumer = await bus.consumer({ groupId, topics: [topic], fromBeginning: true, commitIntervalMs: options.commitIntervalMs ?? 50 });
  seen.byConsumer.set(name, []);
  await consumer.run((messages) => {
    for (const message of messages) {
      seen.all.push(message);
      seen.byConsumer.get(name)?.push(message);
      if (options.markDone?.(message) ?? true) consumer.done(message);
    }
  });
  return consumer;
}

function newSeen(): Seen {
  return { byConsumer: new Map(), all: [] };
}

const text = (buffer: Buffer | null): string => (buffer ? buffer.toString('utf8') : '');

for (const backend of backends) {
  describe(`Kafka client contract: ${backend}`, { timeout: 180_000 }, () => {
    const bus = testBus(backend);
    const closers: (() => Promise<unknown>)[] = [];
    after(async () => {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    });

    test('round trip keeps keys, values and headers', async () => {
      const topic = uniqueName(`contract-${backend}-roundtrip`);
      const admin = await bus.admin();
      closers.push(() => admin.close());
      await admin.createTopics([{ topic, partitions: 2 }]);
      const producer = await bus.producer();
      closers.push(() => producer.close());
      await producer.send([
        { topic, key: 'k-1', value: '{"n":1}', headers: { 'tally-kind': 'accounting', origin: '/var/log/é✓.log' } },
        { topic, key: Buffer.from('k-2'), value: Buffer.from('second'), headers: { 'tally-kind': 'apel-message' } },
        { topic, key: null, value: 'no key' },
      ]);
      const seen = newSeen();
      const consumer = await startConsumer(bus, 'a', uniqueName('g'), topic, seen);
      closers.push(() => consumer.close());
      await eventually('three messages', 60_000, () => (seen.all.length >= 3 ? true : undefined));
      const byValue = new Map(seen.all.map((m) => [text(m.value), m]));
      const first = byValue.get('{"n":1}');
      assert.ok(first, 'first record arrived');
      assert.equal(text(first.key), 'k-1');
      assert.equal(text(first.headers['tally-kind'] ?? null), 'accounting');
      assert.equal(text(first.headers.origin ?? null), '/var/log/é✓.log', 'UTF-8 header text survives');
      assert.equal(text(byValue.get('second')?.key ?? null), 'k-2');
      assert.equal(byValue.get('no key')?.key, null);
      assert.equal(seen.all.length, 3, 'nothing extra arrived');
    });

    test('a record over the broker limit fails permanently, and the same producer goes on sending', async () => {
      const topic = uniqueName(`contract-${backend}-toolarge`);
      const admin = await bus.admin();
      closers.push(() => admin.close());
      await admin.createTopics([{ topic, partitions: 1, configs: { 'max.message.bytes': '100000' } }]);
      const producer = await bus.producer();
      closers.push(() => producer.close());
      await producer.send([{ topic, key: 'before', value: 'small' }]);
      await assert.rejects(producer.send([{ topic, key: 'big', value: randomBytes(400_000) }]), (error: unknown) => (error as { code?: string }).code === 'KAFKA_PERMANENT');
      await producer.send([{ topic, key: 'after', value: 'small again' }]);
      const seen = newSeen();
      const consumer = await startConsumer(bus, 'a', uniqueName('g'), topic, seen);
      closers.push(() => consumer.close());
      await eventually('two messages', 60_000, () => (seen.all.length >= 2 ? true : undefined));
      assert.deepEqual(seen.all.map((m) => text(m.key)), ['before', 'after']);
    });

    test('an uncompressed send of many records, together over the broker limit, is split and all of it arrives', async () => {
      const topic = uniqueName(`contract-${backend}-bytes`);
      const admin = await bus.admin();
      closers.push(() => admin.close());
      await admin.createTopics([{ topic, partitions: 1, configs: { 'max.message.bytes': '300000' } }]);
      const uncompressed = testBus(backend, ['kafka.compression=none', 'kafka.batchMaxBytes=250000']);
      const producer = await uncompressed.producer();
      closers.push(() => producer.close());
      const records = Array.from({ length: 1500 }, (_, i) => ({ topic, key: `k-${i % 3}`, value: `${i}:${randomBytes(500).toString('hex')}` }));
      await producer.send(records);
      const seen = newSeen();
      const consumer = await startConsumer(bus, 'a', uniqueName('g'), topic, seen);
      closers.push(() => consumer.close());
      await eventually('1,500 records', 90_000, () => (seen.all.length >= records.length ? true : undefined));
      assert.deepEqual(seen.all.map((m) => Number(text(m.value).split(':')[0])), records.map((_, i) => i), 'every record, once, in order');
    });

    test('records with the same key keep their order', async () => {
      const topic = uniqueName(`contract-${backend}-order`);
      const admin = await bus.admin();
      closers.push(() => admin.close());
      await admin.createTopics([{ topic, partitions: 4 }]);
      const producer = await bus.producer();
      closers.push(() => producer.close());
      const keys = ['vm-a', 'vm-b', 'vm-c', 'vm-d', 'vm-e'];
      const perKey = 200;
      for (let round = 0; round < 4; round += 1) {
        const batch = [];
        for (let i = round * (perKey / 4); i < (round + 1) * (perKey / 4); i += 1) {
          for (const key of keys) batch.push({ topic, key, value: JSON.stringify({ key, seq: i }) });
        }
        await producer.send(batch);
      }
      const seen = newSeen();
      const consumer = await startConsumer(bus, 'a', uniqueName('g'), topic, seen);
      closers.push(() => consumer.close());
      await eventually('all records', 60_000, () => (seen.all.length >= keys.length * perKey ? true : undefined));
      for (const key of keys) {
        const seqs = seen.all.filter((m) => text(m.key) === key).map((m) => (JSON.parse(text(m.value)) as { seq: number }).seq);
        assert.deepEqual(seqs, Array.from({ length: perKey }, (_, i) => i), `order of ${key}`);
        const partitions = new Set(seen.all.filter((m) => text(m.key) === key).map((m) => m.partition));
        assert.equal(partitions.size, 1, `${key} stays on one partition`);
      }
    });

    test('a group splits partitions; a third member triggers a rebalance without losing or repeating committed work', async () => {
      const topic = uniqueName(`contract-${backend}-group`);
      const groupId = uniqueName(`g-${backend}`);
      const partitions = 6;
      const admin = await bus.admin();
      closers.push(() => admin.close());
      await admin.createTopics([{ topic, partitions }]);
      const producer = await bus.producer();
      closers.push(() => producer.close());
      const seen = newSeen();
      const a = await startConsumer(bus, 'a', groupId, topic, seen);
      closers.push(() => a.close());
      const b = await startConsumer(bus, 'b', groupId, topic, seen);
      closers.push(() => b.close());

      const disjointCover = (members: Consumer[]): boolean => {
        const owned = members.map((m) => m.assignment().map((p) => p.partition));
        const all = owned.flat();
        return owned.every((o) => o.length > 0) && all.length === partitions && new Set(all).size === partitions;
      };
      await eventually('a and b share the partitions', 60_000, () => (disjointCover([a, b]) ? true : undefined));

      const produceBatch = async (tag: string, count: number): Promise<void> => {
        await producer.send(Array.from({ length: count }, (_, i) => ({ topic, key: `${tag}-${i}`, value: `${tag}-${i}` })));
      };
      const lagZero = async (): Promise<true | undefined> => {
        const offsets = await admin.groupOffsets(groupId, topic);
        return offsets.length === partitions && offsets.every((o) => o.lag === 0) ? true : undefined;
      };

      await produceBatch('one', 300);
      await eventually('batch one consumed and committed', 60_000, lagZero);
      assert.ok((seen.byConsumer.get('a')?.length ?? 0) > 0 && (seen.byConsumer.get('b')?.length ?? 0) > 0, 'both members did work');

      const c = await startConsumer(bus, 'c', groupId, topic, seen);
      closers.push(() => c.close());
      await eventually('a, b and c share the partitions', 90_000, () => (disjointCover([a, b, c]) ? true : undefined));

      await produceBatch('two', 300);
      await eventually('batch two consumed and committed', 60_000, lagZero);

      const count = (tag: string): Map<string, number> => {
        const counts = new Map<string, number>();
        for (const m of seen.all) {
          const value = text(m.value);
          if (value.startsWith(`${tag}-`)) counts.set(value, (counts.get(value) ?? 0) + 1);
        }
        return counts;
      };
      const one = count('one');
      assert.equal(one.size, 300, 'no record of batch one lost');
      assert.deepEqual([...one.values()].filter((n) => n !== 1), [], 'committed work was not delivered again after the rebalance');
      const two = count('two');
      assert.equal(two.size, 300, 'no record of batch two lost');
      assert.ok((seen.byConsumer.get('c') ?? []).some((m) => text(m.value).startsWith('two-')), 'the new member took work');
    });

    test('a consumer restarted after a crash resumes from the last committed offset', async () => {
      const topic = uniqueName(`contract-${backend}-crash`);
      const groupId = uniqueName(`g-${backend}`);
      const admin = await bus.admin();
      closers.push(() => admin.close());
      await admin.createTopics([{ topic, partitions: 1 }]);
      const producer = await bus.producer();
      closers.push(() => producer.close());
      await producer.send(Array.from({ length: 100 }, (_, i) => ({ topic, key: null, value: String(i) })));

      const firstRun = newSeen();
      const crashing = await startConsumer(bus, 'crashing', groupId, topic, firstRun, { markDone: (m) => Number(m.offset) < 40 });
      await eventually('first run received everything', 60_000, () => (firstRun.all.length >= 100 ? true : undefined));
      await eventually('offset 40 committed', 30_000, async () => ((await admin.groupOffsets(groupId, topic))[0]?.committed === '40' ? true : undefined));
      await crashing.close({ commit: false });

      const secondRun = newSeen();
      const restarted = await startConsumer(bus, 'restarted', groupId, topic, secondRun);
      closers.push(() => restarted.close());
      await eventually('second run received the rest', 60_000, () => (secondRun.all.length >= 60 ? true : undefined));
      assert.equal(secondRun.all[0]?.offset, '40', 'resumed at the first offset not done');
      assert.deepEqual(secondRun.all.map((m) => text(m.value)), Array.from({ length: 60 }, (_, i) => String(40 + i)));
      await eventually('everything committed', 30_000, async () => ((await admin.groupOffsets(groupId, topic))[0]?.lag === 0 ? true : undefined));
    });

    test('pause stops delivery and resume continues it', async () => {
      const topic = uniqueName(`contract-${backend}-pause`);
      const admin = await bus.admin();
      closers.push(() => admin.close());
      await admin.createTopics([{ topic, partitions: 1 }]);
      const producer = await bus.producer();
      closers.push(() => producer.close());
      const seen = newSeen();
      const consumer = await startConsumer(bus, 'a', uniqueName('g'), topic, seen);
      closers.push(() => consumer.close());
      await producer.send([{ topic, value: 'before' }]);
      await eventually('first record', 60_000, () => (seen.all.length === 1 ? true : undefined));
      consumer.pause();
      await producer.send([{ topic, value: 'while-paused' }]);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.equal(seen.all.length, 1, 'nothing delivered while paused');
      consumer.resume();
      await eventually('record after resume', 30_000, () => (seen.all.length === 2 ? true : undefined));
      assert.equal(text(seen.all[1]?.value ?? null), 'while-paused');
    });

    test('backpressure: delivery pauses at maxInFlight undone messages and resumes as they complete', async () => {
      const topic = uniqueName(`contract-${backend}-pressure`);
      const admin = await bus.admin();
      closers.push(() => admin.close());
      await admin.createTopics([{ topic, partitions: 1 }]);
      const producer = await bus.producer();
      closers.push(() => producer.close());
      await producer.send(Array.from({ length: 2000 }, (_, i) => ({ topic, value: String(i) })));
      const held: IncomingMessage[] = [];
      const consumer = await bus.consumer({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true, maxInFlight: 100 });
      closers.push(() => consumer.close());
      await consumer.run((messages) => {
        held.push(...messages);
      });
      await eventually('first deliveries', 60_000, () => (held.length >= 100 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.ok(held.length <= 100, `delivery stopped at maxInFlight undone messages (held ${held.length})`);
      const stalledAt = held.length;
      for (const message of held.splice(0)) consumer.done(message);
      await eventually('delivery resumed', 30_000, () => (held.length > 0 ? true : undefined));
      assert.ok(consumer.inFlight() <= held.length + 1, 'in-flight count follows done()');
      assert.ok(stalledAt > 0);
    });

    test('backpressure that comes and goes (short stalls and one long one) loses, repeats and reorders nothing', async () => {
      const topic = uniqueName(`contract-${backend}-pressure-cycles`);
      const admin = await bus.admin();
      closers.push(() => admin.close());
      await admin.createTopics([{ topic, partitions: 2 }]);
      const producer = await bus.producer();
      closers.push(() => producer.close());
      const total = 6000;
      await producer.send(Array.from({ length: total }, (_, i) => ({ topic, partition: i % 2, value: String(i) })));
      const seen: IncomingMessage[] = [];
      const consumer = await bus.consumer({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true, maxInFlight: 200 });
      closers.push(() => consumer.close());
      let batches = 0;
      await consumer.run((messages) => {
        seen.push(...messages);
        batches += 1;
        // most batches finish after a few ms (shorter than the rdkafka backend's 250 ms before it pauses), the tenth after 600 ms
        const delay = batches === 10 ? 600 : 5 + (batches % 4) * 10;
        setTimeout(() => {
          for (const message of messages) consumer.done(message);
        }, delay);
      });
      await eventually('every message', 90_000, () => (seen.length >= total ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(seen.length, total, 'each message delivered once');
      for (const partition of [0, 1]) {
        const values = seen.filter((m) => m.partition === partition).map((m) => Number(text(m.value)));
        assert.deepEqual(values, Array.from({ length: total / 2 }, (_, i) => 2 * i + partition), `partition ${partition} in order, nothing missing`);
      }
    });
  });
}
