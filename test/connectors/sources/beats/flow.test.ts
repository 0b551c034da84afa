import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWindow } from '../../../../connectors/sources/beats/protocol.js';
import { startBeatsServer } from '../../../../connectors/sources/beats/server.js';
import type { Admin, Bus, Producer } from '../../../../pipeline/bus/types.js';
import { testLog } from '../../../support/world.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll, topicCount } from '../../../support/topic-records.js';
import { capturedLog, HeldProducer, sleep, TestClient } from './support.js';

const local = { host: '127.0.0.1', port: 0 };
const events = (tag: string, n: number): string[] => Array.from({ length: n }, (_, i) => JSON.stringify({ message: `${tag} ${i}` }));

describe('tally beats: keepalives, retries, backpressure, slow clients (real Kafka, kafkajs)', { timeout: 180_000 }, () => {
  let bus: Bus;
  let admin: Admin;
  let raw: string;
  let real: Producer;

  before(async () => {
    ({ bus, admin, raw } = await isolatedBus('kafkajs', { partitions: 2 }));
    real = await bus.producer();
  });
  after(async () => {
    await real.close();
    await admin.close();
  });

  test('while Kafka does not acknowledge, the window is retried and the client gets only 2A 0 keepalives; the ack comes after Kafka', async () => {
    const producer = new HeldProducer(real);
    producer.failures = 3;
    const server = await startBeatsServer({ config: { ...local, keepaliveMs: 100, retryInitialMs: 150, retryMaxMs: 300 }, bus, log: testLog, producer });
    try {
      const before = await topicCount(admin, raw);
      const client = await TestClient.connect(server.port);
      client.send(encodeWindow(events('retried', 5), { compressionLevel: 3 }));
      await client.waitForAcks(1, 20_000);
      const firstPositive = client.acks.findIndex((a) => a !== 0);
      assert.ok(firstPositive >= 3, `keepalives came first: ${client.acks.join(',')}`);
      assert.ok(client.acks.slice(0, firstPositive).every((a) => a === 0));
      assert.deepEqual(client.positiveAcks, [5]);
      assert.equal(producer.sends, 4, 'three failed sends, then one that Kafka acknowledged');
      assert.equal((await topicCount(admin, raw)) - before, 5, 'in Kafka exactly once');
      assert.ok(server.stats().retries >= 3 && server.stats().keepalives >= 3);
      client.close();
    } finally {
      await server.close();
    }
  });

  test('what Kafka never acknowledges is never acknowledged: only keepalives, however long', async () => {
    const producer = new HeldProducer(real);
    producer.failures = Number.POSITIVE_INFINITY;
    const server = await startBeatsServer({ config: { ...local, keepaliveMs: 100, retryInitialMs: 50, retryMaxMs: 100 }, bus, log: testLog, producer });
    try {
      const client = await TestClient.connect(server.port);
      client.send(encodeWindow(events('never', 3)));
      await sleep(1500);
      assert.deepEqual(client.positiveAcks, []);
      assert.ok(client.acks.length >= 8, `keepalives kept the client waiting: ${client.acks.length}`);
      assert.equal(await client.closedWithin(10), false, 'the connection stays open');
      client.close();
    } finally {
      await server.close({ timeoutMs: 200 });
    }
  });

  test('backpressure: while Kafka holds a window the socket is paused, at most maxPendingWindows are decoded, acks stay in order', async () => {
    const producer = new HeldProducer(real);
    producer.hold();
    const server = await startBeatsServer({ config: { ...local, maxPendingWindows: 2, keepaliveMs: 200 }, bus, log: testLog, producer });
    try {
      const before = await topicCount(admin, raw);
      const client = await TestClient.connect(server.port);
      // 30 windows of 1..30 events, about 7 MB in all: more than the socket buffers hold
      const pad = 'p'.repeat(16_000);
      const windows = Array.from({ length: 30 }, (_, w) => Array.from({ length: w + 1 }, (_, i) => JSON.stringify({ message: `w${w} e${i}`, pad })));
      client.send(Buffer.concat(windows.map((w) => encodeWindow(w))));
      await sleep(1000);
      assert.ok(server.stats().windows <= 2, `decoded ${server.stats().windows} windows while Kafka held the first`);
      assert.ok(client.socket.writableLength > 0, 'the client could not write everything: TCP pushed back');
      assert.deepEqual(client.positiveAcks, []);
      producer.release();
      await client.waitForAcks(30, 60_000);
      assert.deepEqual(client.positiveAcks, windows.map((w) => w.length), 'one ack per window, in window order');
      assert.equal((await topicCount(admin, raw)) - before, (30 * 31) / 2);
      client.close();
    } finally {
      producer.release();
      await server.close();
    }
  });

  test('one byte budget for the server: with Kafka holding the first window, other connections stop reading instead of each holding its own windows', async () => {
    const producer = new HeldProducer(real);
    producer.hold();
    const budget = 256 * 1024;
    const server = await startBeatsServer({ config: { ...local, maxPendingWindows: 2, maxBufferedBytes: budget, keepaliveMs: 500 }, bus, log: testLog, producer });
    const clients: TestClient[] = [];
    try {
      const before = await topicCount(admin, raw);
      // six clients, ten windows of 20 events of 5 kB each (100 kB a window, 6 MB in all). Bounded per
      // connection only, each would hold two decoded windows and part of a third: about 1.8 MB.
      const pad = 'b'.repeat(5000);
      const windows = (c: number) => Array.from({ length: 10 }, (_, w) => Array.from({ length: 20 }, (_, i) => JSON.stringify({ message: `c${c} w${w} e${i}`, pad })));
      for (let c = 0; c < 6; c += 1) {
        const client = await TestClient.connect(server.port);
        client.send(Buffer.concat(windows(c).map((w) => encodeWindow(w))));
        clients.push(client);
      }
      await clients[0]?.waitFor('a connection waiting for the budget', 20_000, () => server.stats().waitingForBudget > 0);
      await sleep(1000);
      const held = server.stats();
      // what one socket read adds per connection that was reading when the budget ran out
      const slack = 6 * 64 * 1024;
      assert.ok(held.bufferedBytesPeak <= budget + slack, `held at most ${held.bufferedBytesPeak} bytes across six connections (budget ${budget})`);
      assert.ok(held.waitingForBudget >= 1, 'connections wait for the budget');
      assert.ok(held.windows < 12, `decoded ${held.windows} windows: fewer than two per connection`);
      producer.release();
      for (const client of clients) await client.waitForAcks(10, 60_000);
      for (const client of clients) assert.deepEqual(client.positiveAcks, Array(10).fill(20), 'every window acknowledged, in order');
      assert.equal((await topicCount(admin, raw)) - before, 6 * 10 * 20);
      const after = server.stats();
      assert.equal(after.bufferedBytes, 0, 'everything acknowledged is released');
      assert.ok(after.bufferedBytesPeak <= budget + slack, `peak ${after.bufferedBytesPeak}`);
    } finally {
      producer.release();
      for (const client of clients) client.close();
      await server.close();
    }
  });

  test('windows larger than the whole budget still go through, one connection at a time: half-received windows do not wait on each other', async () => {
    const budget = 64 * 1024;
    const server = await startBeatsServer({ config: { ...local, maxBufferedBytes: budget }, bus, log: testLog, producer: real });
    const clients: TestClient[] = [];
    try {
      const pad = 'o'.repeat(10_000);
      for (let c = 0; c < 3; c += 1) {
        const client = await TestClient.connect(server.port);
        // 25 events of 10 kB: one 250 kB window each, four times the budget
        client.send(encodeWindow(Array.from({ length: 25 }, (_, i) => JSON.stringify({ message: `big c${c} e${i}`, pad }))));
        clients.push(client);
      }
      for (const client of clients) await client.waitForAcks(1, 30_000);
      for (const client of clients) assert.deepEqual(client.positiveAcks, [25]);
      assert.equal(server.stats().bufferedBytes, 0);
    } finally {
      for (const client of clients) client.close();
      await server.close();
    }
  });

  test('a client that opens a connection and says nothing is closed after idleTimeoutMs', async () => {
    const { log, lines } = capturedLog();
    const server = await startBeatsServer({ config: { ...local, idleTimeoutMs: 300 }, bus, log, producer: real });
    try {
      const client = await TestClient.connect(server.port);
      const started = Date.now();
      assert.equal(await client.closedWithin(3000), true);
      assert.ok(Date.now() - started >= 250);
      assert.ok(lines.some((l) => /idle for 300 ms/.test(String(l.reason))));
    } finally {
      await server.close();
    }
  });

  test('a client sending one byte at a time is dropped after windowTimeoutMs, however steadily it trickles; others are served', async () => {
    const { log, lines } = capturedLog();
    const server = await startBeatsServer({ config: { ...local, idleTimeoutMs: 200, windowTimeoutMs: 800 }, bus, log, producer: real });
    try {
      const slow = await TestClient.connect(server.port);
      const bytes = encodeWindow(events('slow', 1));
      const started = Date.now();
      let sent = 0;
      const trickle = setInterval(() => {
        if (sent < bytes.length && !slow.socket.destroyed) slow.send(bytes.subarray(sent, ++sent));
      }, 100); // every 100 ms: never idle for 200 ms, yet never finishing
      const other = await TestClient.connect(server.port);
      other.send(encodeWindow(events('meanwhile', 2)));
      await other.waitForAcks(1);
      assert.equal(await slow.closedWithin(5000), true);
      clearInterval(trickle);
      const took = Date.now() - started;
      assert.ok(took >= 700 && took < 3000, `dropped after ${took} ms`);
      assert.ok(lines.some((l) => /did not finish it within 800 ms/.test(String(l.reason))));
      assert.equal(server.stats().timeouts >= 1, true);
      other.close();
    } finally {
      await server.close();
    }
  });

  test('a window larger than one Kafka request is sent in slices and acknowledged once, after the last', async () => {
    const held = new HeldProducer(real);
    const server = await startBeatsServer({ config: { ...local, sendMaxBytes: 20_000 }, bus, log: testLog, producer: held });
    try {
      const before = await topicCount(admin, raw);
      const client = await TestClient.connect(server.port);
      const big = Array.from({ length: 40 }, (_, i) => JSON.stringify({ message: `slice ${i}`, pad: 'q'.repeat(2000) }));
      client.send(encodeWindow(big, { compressionLevel: 3 }));
      await client.waitForAcks(1);
      assert.deepEqual(client.positiveAcks, [40]);
      assert.ok(held.sends >= 4, `${held.sends} sends`);
      assert.equal((await topicCount(admin, raw)) - before, 40);
      const inKafka = (await readAll(bus, admin, raw, 0, { settleMs: 300 })).filter((m) => String(m.value).includes('"slice '));
      assert.equal(inKafka.length, 40);
      client.close();
    } finally {
      await server.close();
    }
  });
});
