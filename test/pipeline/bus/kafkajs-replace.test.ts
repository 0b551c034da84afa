import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { Consumer as JsConsumer } from 'kafkajs';
import type { Consumer } from '../../../pipeline/bus/types.js';
import { eventually, testBus, testConfig, uniqueName } from '../../support/world.js';

/** What the test reaches inside the kafkajs backend's consumer: the kafkajs consumer it holds, and its replacement. */
type Replaceable = { consumer: JsConsumer; replace(reason: string): Promise<void> };

/**
 * The broker-SIGKILL stall of the fault suite: the stage replaced its kafkajs consumer while the
 * broker was away, the old one's disconnect failed, and kafkajs restarted the old one after its next
 * crash; it joined the group again beside its successor, and every such zombie rebalanced the group
 * (four members in one sink, lag held for minutes). Here the old consumer's disconnect never
 * happens, as with the broker away: it must not come back once it crashed.
 */
test('kafkajs: a replaced consumer whose disconnect failed does not rejoin the group beside its successor', { timeout: 300_000 }, async () => {
  const bus = testBus('kafkajs', ['kafka.sessionTimeoutMs=10000']);
  const topic = uniqueName('replace-in');
  const groupId = uniqueName('replace-group');
  const admin = await bus.admin();
  await admin.createTopics([{ topic, partitions: 2 }]);
  const producer = await bus.producer();
  const kafka = new kafkajs.Kafka({ brokers: testConfig().kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
  const groups = kafka.admin();
  await groups.connect();
  const members = async () => (await groups.describeGroups([groupId])).groups[0]?.members.length ?? 0;
  let consumer: Consumer | undefined;
  let writing = true;
  try {
    consumer = await bus.consumer({ groupId, topics: [topic], fromBeginning: true, commitIntervalMs: 100 });
    const running = consumer;
    running.on('error', () => undefined);
    const seen = new Set<string>();
    await running.run((messages) => {
      for (const m of messages) {
        seen.add(String(m.value));
        running.done(m);
      }
    });
    let sent = 0;
    const writer = (async () => {
      while (writing) {
        await producer.send(Array.from({ length: 10 }, () => ({ topic, key: `k${sent % 7}`, value: String(sent++) })));
        await sleep(100);
      }
    })();
    await eventually('the first consumer handles records', 60_000, async () => (seen.size > 0 ? true : undefined));
    const inner = running as unknown as Replaceable;
    const old = inner.consumer;
    old.disconnect = () => new Promise<void>(() => undefined);
    await inner.replace('a test replaces it; its disconnect never finishes');
    assert.notEqual(inner.consumer, old, 'a new kafkajs consumer took over');
    // the old one refuses the batch it still holds (replaced); kafkajs retries that for about 40 s, then
    // the consumer crashes: restarted, it would rejoin the group (seen as 2 members within 100 s)
    const counts: number[] = [];
    for (let i = 0; i < 100; i += 1) {
      counts.push(await members());
      await sleep(1000);
    }
    assert.deepEqual([...new Set(counts)], [1], `one member in the 100 s after the replacement (members each second: ${counts.join(',')})`);
    writing = false;
    await writer;
    await eventually('every record handled by the successor', 60_000, async () => (seen.size === sent ? true : undefined));
  } finally {
    writing = false;
    await consumer?.close().catch(() => undefined);
    await producer.close();
    await groups.disconnect();
    await admin.close();
  }
});
