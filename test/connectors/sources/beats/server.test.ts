import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { encodeWindow } from '../../../../connectors/sources/beats/protocol.js';
import { isTallyError } from '../../../../pipeline/errors.js';
import { startBeatsServer, type BeatsServer } from '../../../../connectors/sources/beats/server.js';
import type { Admin, Bus, Producer } from '../../../../pipeline/bus/types.js';
import type { DeadLetter } from '../../../../pipeline/dlq.js';
import { backends, testLog } from '../../../support/world.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll, topicCount } from '../../../support/topic-records.js';
import { capturedLog, filebeatEvents, TestClient, valueOf } from './support.js';

const local = { host: '127.0.0.1', port: 0 };

for (const backend of backends) {
  describe(`tally beats on the real Kafka (${backend})`, { timeout: 180_000 }, () => {
    let bus: Bus;
    let admin: Admin;
    let raw: string;
    let server: BeatsServer;

    before(async () => {
      ({ bus, admin, raw } = await isolatedBus(backend, { partitions: 2 }));
      server = await startBeatsServer({ config: local, bus, log: testLog });
    });
    after(async () => {
      await server.close();
      await admin.close();
    });

    test('pipelined windows (bare, compressed, mixed) are acknowledged in order, each only once Kafka has it', async () => {
      const fixtures = filebeatEvents();
      const numbered = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => JSON.stringify({ '@timestamp': '2024-05-01T10:00:00Z', message: `{"level":"accounting","n":${from + i}}`, input: { type: 'filestream' } }));
      const windows = [fixtures, numbered(0, 50), numbered(50, 7)];
      const client = await TestClient.connect(server.port);
      const address = `127.0.0.1:${client.socket.localPort}`;
      client.send(Buffer.concat([encodeWindow(windows[0] as string[]), encodeWindow(windows[1] as string[], { compressionLevel: 3 }), encodeWindow(windows[2] as string[], { compressionLevel: 9 })]));
      const seenAt: number[] = [];
      for (let k = 1; k <= 3; k += 1) {
        await client.waitForAcks(k);
        seenAt.push(await topicCount(admin, raw));
      }
      assert.deepEqual(client.positiveAcks, [3, 50, 7], 'each window acked with its last sequence number, in order');
      const cumulative = [3, 53, 60];
      seenAt.forEach((count, i) => assert.ok(count >= (cumulative[i] as number), `after ack ${i + 1} Kafka held ${count} of ${cumulative[i]}`));
      client.close();

      const records = await readAll(bus, admin, raw, 60, { settleMs: 300 });
      assert.equal(records.length, 60, 'nothing doubled');
      const values = records.map((r) => r.value?.toString('utf8') ?? '');
      for (const event of windows.flat()) {
        const expected = event.includes('"source":') ? event : `{"source":{"address":"${address}"},${event.slice(1)}`;
        assert.ok(values.includes(expected), `event in Kafka byte for byte: ${expected.slice(0, 80)}`);
      }
      const first = valueOf(records.find((r) => String(r.value).includes('neanias-atmo')) ?? records[0]!);
      assert.deepEqual(first.input, { type: 'filestream' });
      assert.equal((first.log as { file: { path: string } }).file.path, '/var/log/neanias/accounting.json');
    });
  });
}

describe('tally beats: connections, dead letters, shutdown (kafkajs)', { timeout: 180_000 }, () => {
  let bus: Bus;
  let admin: Admin;
  let raw: string;
  let dlq: string;
  let producer: Producer;

  before(async () => {
    ({ bus, admin, raw, dlq } = await isolatedBus('kafkajs', { partitions: 2 }));
    producer = await bus.producer();
  });
  after(async () => {
    await producer.close();
    await admin.close();
  });

  test('a protocol error closes that connection with a logged reason; other connections and the server go on', async () => {
    const { log, lines } = capturedLog();
    const server = await startBeatsServer({ config: local, bus, log, producer });
    try {
      const good = await TestClient.connect(server.port);
      const bad = await TestClient.connect(server.port);
      bad.send(Buffer.concat([encodeWindow(['{"message":"before the error"}']), Buffer.from('2W'), Buffer.from([0xff, 0xff, 0xff, 0xff])]));
      assert.equal(await bad.closedWithin(5000), true, 'the bad connection was closed');
      const reason = lines.find((l) => String(l.msg).startsWith('closing beats connection'));
      assert.ok(reason, 'the close was logged');
      assert.match(String(reason.reason), /window of 4294967295 events is over the limit of 10000/);
      assert.equal(server.stats().protocolErrors, 1);

      good.send(encodeWindow(['{"message":"still served"}']));
      await good.waitForAcks(1);
      const later = await TestClient.connect(server.port);
      later.send(encodeWindow(['{"message":"new connections too"}'], { compressionLevel: 1 }));
      await later.waitForAcks(1);
      good.close();
      later.close();
    } finally {
      await server.close();
    }
  });

  test('hostile frames each close only their own connection, each with its reason logged', async () => {
    const { log, lines } = capturedLog();
    const server = await startBeatsServer({ config: { ...local, maxDecompressedBytes: 1024 * 1024 }, bus, log, producer });
    const u32 = (n: number): Buffer => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
    const bombBody = deflateSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    const hostile: [string, Buffer, RegExp][] = [
      ['a JSON frame claiming 4 GB', Buffer.concat([Buffer.from('2W'), u32(1), Buffer.from('2J'), u32(1), u32(0xffffffff)]), /JSON frame 1 of 4294967295 bytes is over the limit/],
      ['a window of 2^32-1 events', Buffer.concat([Buffer.from('2W'), u32(0xffffffff)]), /window of 4294967295 events/],
      ['a zlib bomb', Buffer.concat([Buffer.from('2W'), u32(1), Buffer.from('2C'), u32(bombBody.length), bombBody]), /inflates to more than the limit of 1048576 bytes/],
      ['an HTTP request', Buffer.from('POST / HTTP/1.1\r\nHost: x\r\n\r\n'), /unsupported protocol version byte 0x50/],
      ['a TLS client hello on the plain port', Buffer.from('16030100c8010000c40303', 'hex'), /unsupported protocol version byte 0x16/],
    ];
    try {
      for (const [name, bytes, reason] of hostile) {
        const client = await TestClient.connect(server.port);
        client.send(bytes);
        assert.equal(await client.closedWithin(5000), true, `${name}: closed`);
        assert.deepEqual(client.positiveAcks, [], `${name}: nothing acknowledged`);
        assert.ok(lines.some((l) => reason.test(String(l.reason))), `${name}: reason logged`);
      }
      assert.equal(server.stats().protocolErrors, hostile.length);
      const good = await TestClient.connect(server.port);
      good.send(encodeWindow(['{"message":"after the storm"}'], { compressionLevel: 3 }));
      await good.waitForAcks(1);
      good.close();
    } finally {
      await server.close();
    }
  });

  test('events that are not JSON objects go to dlq.<kind> with the reason, and the window is still acknowledged', async () => {
    const server = await startBeatsServer({ config: local, bus, log: testLog, producer });
    try {
      const before = await topicCount(admin, raw);
      const client = await TestClient.connect(server.port);
      client.send(encodeWindow(['{"message":"fine"}', '{"message": broken', '[1,2,3]', '{"message":"also fine"}']));
      await client.waitForAcks(1);
      assert.deepEqual(client.positiveAcks, [4]);
      assert.equal((await topicCount(admin, raw)) - before, 2);
      const letters = (await readAll(bus, admin, dlq, 2, { settleMs: 300 })).map((m) => valueOf(m) as unknown as DeadLetter);
      assert.deepEqual(letters.map((l) => l.original.data).sort(), ['[1,2,3]', '{"message": broken']);
      assert.ok(letters.every((l) => l.stage === 'beats' && l.reasons[0]?.code === 'RECORD_UNPARSABLE' && /over beats/.test(String(l.source?.origin))));
      assert.equal(server.stats().rejected, 2);
      client.close();
    } finally {
      await server.close();
    }
  });

  test('graceful close: stops accepting, acknowledges the windows already received, then closes', async () => {
    const slow: Producer = { send: async (records) => { await new Promise((r) => setTimeout(r, 700)); await producer.send(records); }, close: async () => undefined };
    const server = await startBeatsServer({ config: local, bus, log: testLog, producer: slow });
    const before = await topicCount(admin, raw);
    const client = await TestClient.connect(server.port);
    client.send(encodeWindow(['{"message":"in flight at shutdown 1"}', '{"message":"in flight at shutdown 2"}']));
    await new Promise((r) => setTimeout(r, 150));
    const closing = server.close();
    await assert.rejects(TestClient.connect(server.port), 'no new connections while closing');
    await closing;
    assert.deepEqual(client.positiveAcks, [2], 'the in-flight window was acknowledged before the connection closed');
    assert.equal(await client.closedWithin(2000), true);
    assert.equal((await topicCount(admin, raw)) - before, 2);
  });

  test('a port in use is LISTEN_FAILED, not a configuration error', async () => {
    const server = await startBeatsServer({ config: local, bus, log: testLog, producer });
    try {
      await assert.rejects(startBeatsServer({ config: { host: '127.0.0.1', port: server.port }, bus, log: testLog, producer }), (error: unknown) => {
        assert.ok(isTallyError(error, 'LISTEN_FAILED'), String(error));
        assert.match(error.message, /^beats: cannot listen on 127\.0\.0\.1:\d+: the port is taken by another process: stop it or choose another port \(EADDRINUSE\)$/);
        return true;
      });
    } finally {
      await server.close();
    }
  });
});
