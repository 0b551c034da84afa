import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Rd from 'node-rdkafka';
import { disconnectProducer, loadRdkafka } from '../../../pipeline/bus/rdkafka.js';
import { testConfig, uniqueName } from '../../support/world.js';

interface NativeClient {
  disconnect(cb: () => void): void;
}

/**
 * node-rdkafka destroys a producer's handle on a worker thread; its poll timer must not poll that
 * handle meanwhile. In the fault suite a transform replacing its transactional producer after a
 * failed transaction hung for good in rd_kafka_poll on the freed queue (main thread in a futex, no
 * librdkafka thread left). The destroy is often too quick for a poll to land in it, so the test
 * also checks that no poll timer is alive when it begins.
 */
test('rdkafka: disconnecting a producer never polls its handle while the handle is being destroyed', { timeout: 120_000 }, async () => {
  const rd = loadRdkafka();
  const producer = new rd.Producer({ 'metadata.broker.list': testConfig().kafka.brokers.join(','), dr_cb: true } as Rd.ProducerGlobalConfig);
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 30_000 }, (error) => (error ? reject(error) : resolve())));
  producer.setPollInterval(1);
  const topic = uniqueName('rd-disconnect');
  for (let i = 0; i < 100; i++) producer.produce(topic, null, Buffer.from(`record ${i}`), null, Date.now());

  let destroying = false;
  let pollsWhileDestroying = 0;
  const poll = producer.poll.bind(producer);
  producer.poll = () => {
    if (destroying) pollsWhileDestroying += 1;
    return poll();
  };
  const native = (producer as unknown as { _client: NativeClient })._client;
  const destroy = native.disconnect.bind(native);
  let destroyMs = 0;
  let destroyed = false;
  let timerAtDestroy: unknown;
  native.disconnect = (cb) => {
    timerAtDestroy = (producer as unknown as { pollInterval?: unknown }).pollInterval;
    destroying = true;
    const started = Date.now();
    destroy(() => {
      destroyMs = Date.now() - started;
      destroying = false;
      destroyed = true;
      cb();
    });
  };

  await disconnectProducer(producer, 10_000);
  assert.ok(destroyed, 'the handle was destroyed');
  assert.equal(timerAtDestroy, undefined, 'the poll timer is stopped before the destroy begins');
  assert.equal(pollsWhileDestroying, 0, `the poll timer polled the handle ${pollsWhileDestroying} time(s) during its ${destroyMs} ms destroy`);
});
