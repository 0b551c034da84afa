import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startHttpSource, type HttpSource } from '../../../../connectors/sources/http/server.js';
import { defaultHttpSourceConfig } from '../../../../connectors/sources/http/config.js';
import type { Bus, Consumer } from '../../../../pipeline/bus/types.js';
import { eventually, testBus, testLog, uniqueName } from '../../../support/world.js';

describe('tally http on the real Kafka', { timeout: 120_000 }, () => {
  const prefix = `${uniqueName('http')}.`;
  let bus: Bus;
  let source: HttpSource;
  let consumer: Consumer;
  const received: Record<string, unknown>[] = [];

  before(async () => {
    bus = testBus('kafkajs', [`kafka.topicPrefix=${prefix}`]);
    const admin = await bus.admin();
    await admin.createTopics([{ topic: bus.topic('raw.accounting') }, { topic: bus.topic('raw.caso-json') }]);
    await admin.close();
    source = await startHttpSource({ ...defaultHttpSourceConfig, port: 0, maxBodyBytes: 64 * 1024, bearerToken: 's3cret' }, { bus, log: testLog });
    consumer = await bus.consumer({ groupId: uniqueName('g'), topics: [bus.topic('raw.accounting'), bus.topic('raw.caso-json')] });
    await consumer.run((messages) => {
      for (const m of messages) received.push({ topic: m.topic, ...(JSON.parse(m.value?.toString() ?? '{}') as Record<string, unknown>) });
    });
  });
  after(async () => {
    await consumer.close();
    await source.close();
  });

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${source.url}${path}`, { method: 'POST', body, headers: { authorization: 'Bearer s3cret', 'content-type': 'application/json', ...headers } });

  test('answers 200 only after Kafka has every event, as Filebeat-shaped envelopes', async () => {
    const lines = Array.from({ length: 5 }, (_, i) => JSON.stringify({ level: 'accounting', userid: `u${i}` }));
    const response = await post('/', lines.join('\n'), { 'content-type': 'application/x-ndjson' });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { accepted: 5, topic: bus.topic('raw.accounting') });
    await eventually('events in Kafka', 30_000, () => (received.filter((r) => String(r.message).includes('"userid":"u')).length >= 5 ? true : undefined));
    const first = received.find((r) => r.message === lines[0]);
    assert.ok(first, 'the line is the message, byte for byte');
    assert.deepEqual(first.input, { type: 'http' });
    assert.match(String((first.source as { address: string }).address), /^127\.0\.0\.1:\d+$/);
    assert.ok(typeof first['@timestamp'] === 'string');
  });

  test('a kind in the path selects the raw topic', async () => {
    const response = await post('/ingest/caso-json', JSON.stringify([{ VMUUID: 'a' }, { VMUUID: 'b' }]));
    assert.equal(response.status, 200);
    await eventually('caso-json events', 30_000, () => (received.filter((r) => r.topic === bus.topic('raw.caso-json')).length === 2 ? true : undefined));
  });

  test('400 with the reasons, and nothing accepted', async () => {
    const before = received.length;
    const response = await post('/', '{"ok":1}\n{"broken":\n', { 'content-type': 'application/x-ndjson' });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { reasons: string[] };
    assert.match(body.reasons[0] ?? '', /line 2 is not valid JSON/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(received.length, before);
  });

  test('413 over the size limit', async () => {
    const response = await post('/', JSON.stringify({ big: 'x'.repeat(70 * 1024) }));
    assert.equal(response.status, 413);
  });

  test('431 for headers over the limit', async () => {
    const response = await post('/', '{}', { 'x-padding': 'y'.repeat(20 * 1024) }).catch((error: unknown) => error);
    if (response instanceof Response) assert.equal(response.status, 431);
    else assert.ok(response instanceof Error, 'the connection was refused');
  });

  test('401 without the right bearer token, 404 for an unknown kind, 405 for GET', async () => {
    assert.equal((await post('/', '{}', { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post('/', '{}', { authorization: '' })).status, 401);
    assert.equal((await post('/ingest/nope', '{}')).status, 404);
    assert.equal((await fetch(`${source.url}/`, { headers: { authorization: 'Bearer s3cret' } })).status, 405);
    assert.equal((await fetch(`${source.url}/healthz`)).status, 200);
  });

  test('a slow client does not hold the server: others are served meanwhile', async () => {
    const socket = connect(source.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{');
    const response = await post('/', '{"while":"slow"}');
    assert.equal(response.status, 200);
    socket.destroy();
  });

  test('503 with Retry-After when too many requests are in flight', async () => {
    const busy = await startHttpSource({ ...defaultHttpSourceConfig, port: 0, maxConcurrentRequests: 1 }, { bus, log: testLog });
    const socket = connect(busy.port, '127.0.0.1');
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const response = await fetch(`${busy.url}/`, { method: 'POST', body: '{"a":1}' });
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('retry-after'), '1');
    } finally {
      socket.destroy();
      await busy.close();
    }
  });
});
