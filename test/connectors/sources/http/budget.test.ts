import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { defaultHttpSourceConfig } from '../../../../connectors/sources/http/config.js';
import { startHttpSource } from '../../../../connectors/sources/http/server.js';
import type { Bus } from '../../../../pipeline/bus/types.js';
import { eventually, testBus, uniqueName } from '../../../support/world.js';
import { capturedLog } from '../beats/support.js';

let bus: Bus;
before(async () => {
  bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('http-budget')}.`]);
  const admin = await bus.admin();
  await admin.createTopics([{ topic: bus.topic('raw.accounting') }]);
  await admin.close();
});
after(() => undefined);

test('bodies held by all requests together stay under maxInFlightBytes: past it, 503 with Retry-After', async () => {
  const { log } = capturedLog();
  const source = await startHttpSource({ ...defaultHttpSourceConfig, port: 0, maxBodyBytes: 64 * 1024, maxInFlightBytes: 100 * 1024 }, { bus, log });
  const holders = [connect(source.port, '127.0.0.1'), connect(source.port, '127.0.0.1')];
  try {
    // two slow clients hold 60 KiB each of bodies they declared as 64 KiB; the budget is 100 KiB
    const heard: string[] = ['', ''];
    await Promise.all(holders.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    holders.forEach((socket, i) => {
      socket.on('data', (chunk: Buffer) => (heard[i] += chunk.toString()));
      socket.on('error', () => undefined);
      socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${60 * 1024}\r\n\r\n{"pad":"`);
    });
    holders[0]?.write('a'.repeat(50 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 300));
    holders[1]?.write('b'.repeat(55 * 1024));
    await eventually('the second holder refused', 10_000, () => (heard[1]?.startsWith('HTTP/1.1 503') ? true : undefined));
    assert.match(heard[1] ?? '', /retry-after: 1/i);
    assert.match(heard[1] ?? '', /maxInFlightBytes/);
    assert.equal(heard[0], '', 'the first is still being read');
    assert.equal(source.stats().busy, 1);
    holders[0]?.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await fetch(`${source.url}/`, { method: 'POST', body: JSON.stringify({ pad: 'c'.repeat(60 * 1024) }) })).status, 200, 'the budget is given back');
  } finally {
    for (const socket of holders) socket.destroy();
    await source.close();
  }
  await assert.rejects(startHttpSource({ ...defaultHttpSourceConfig, port: 0, maxBodyBytes: 2048, maxInFlightBytes: 1024 }, { bus, log: capturedLog().log }), /maxInFlightBytes/);
});

