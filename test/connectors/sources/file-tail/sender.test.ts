import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutgoingRecord, Producer } from '../../../../pipeline/bus/types.js';
import { TallyError } from '../../../../pipeline/errors.js';
import { Cursor } from '../../../../connectors/sources/file-tail/registry.js';
import { Sender, type Item } from '../../../../connectors/sources/file-tail/sender.js';
import { testLog } from '../../../support/world.js';

const cursor = () => new Cursor({ id: '1-1', dev: 1, ino: 1, path: '/x', fingerprint: '0'.repeat(64), fingerprintBytes: 0, offset: 0, seq: 1, updated: '' });
const options = { batchMaxLines: 4, batchMaxBytes: 1 << 20, lingerMs: 0, maxQueuedLines: 100, maxInFlightSends: 2 };

class FakeProducer implements Producer {
  sent: string[][] = [];
  failures: ((records: OutgoingRecord[]) => Error | undefined)[] = [];
  async send(records: OutgoingRecord[]): Promise<void> {
    for (const rule of this.failures) {
      const error = rule(records);
      if (error) throw error;
    }
    this.sent.push(records.map((r) => String(r.value)));
  }
  async close(): Promise<void> {}
}

function line(c: Cursor, end: number, value: string): Item {
  return { cursor: c, end, kind: 'line', record: { topic: 'raw', value }, origin: { path: '/x', fileId: '1-1', stream: '/x' }, offset: end - 1 };
}

test('acknowledges in order, skipped lines included, and advances nothing before Kafka accepted', async () => {
  const producer = new FakeProducer();
  let transient = 2;
  producer.failures.push(() => (transient-- > 0 ? new TallyError('KAFKA_RETRIABLE', 'broker away') : undefined));
  const acked: number[] = [];
  const c = cursor();
  const sender = new Sender(producer, options, { acked: (items) => acked.push(...items.map((i) => i.end)), tooLarge: () => assert.fail(), log: testLog });
  sender.push(line(c, 1, 'a'));
  sender.push({ cursor: c, end: 2, kind: 'skip', record: null });
  sender.push({ cursor: c, end: 3, kind: 'skip', record: null });
  sender.push(line(c, 4, 'b'));
  assert.equal(c.enqueued, 4);
  await sender.stop();
  assert.deepEqual(producer.sent.flat(), ['a', 'b']);
  assert.equal(sender.retries, 2);
  assert.deepEqual(acked, [3, 4], 'skipped lines ride on the item before them: acknowledged with it');
  assert.equal(c.pending, 0);
});

test('a record Kafka refuses as too large is found by halving and becomes a dead letter; the others go through in order', async () => {
  const producer = new FakeProducer();
  producer.failures.push((records) => (records.some((r) => String(r.value).length > 5) ? new TallyError('KAFKA_PERMANENT', 'too large', { details: { kafkaError: 'MESSAGE_TOO_LARGE' } }) : undefined));
  const c = cursor();
  const kinds: string[] = [];
  const sender = new Sender(producer, options, { acked: (items) => kinds.push(...items.map((i) => i.kind)), tooLarge: () => ({ topic: 'dlq', value: 'dead' }), log: testLog });
  for (const [i, v] of ['a', 'b', 'cccccccccc', 'd'].entries()) sender.push(line(c, i + 1, v));
  await sender.stop();
  assert.deepEqual(producer.sent.flat(), ['a', 'b', 'dead', 'd']);
  assert.deepEqual(kinds, ['line', 'line', 'dlq', 'line']);
});

test('stop with a deadline gives up on a Kafka that does not answer and acknowledges nothing', async () => {
  const producer = new FakeProducer();
  producer.failures.push(() => new TallyError('KAFKA_RETRIABLE', 'broker away'));
  const c = cursor();
  let acked = 0;
  const sender = new Sender(producer, options, { acked: (items) => (acked += items.length), tooLarge: () => assert.fail(), log: testLog.child({ level: 'silent' }) });
  sender.push(line(c, 1, 'a'));
  const started = Date.now();
  await sender.stop(300);
  assert.ok(Date.now() - started < 2000);
  assert.equal(acked, 0);
  assert.equal(c.offset, 0, 'the registry offset stays: the line is read again after a restart');
});

test('reading pauses when the queue is full', () => {
  const producer = new FakeProducer();
  const sender = new Sender(producer, { ...options, lingerMs: 10_000, batchMaxLines: 1000, maxQueuedLines: 3 }, { acked: () => undefined, tooLarge: () => assert.fail(), log: testLog });
  const c = cursor();
  for (let i = 1; i <= 3; i += 1) sender.push(line(c, i, 'x'));
  assert.equal(sender.full, true);
  sender.abandon();
});

test('stop with a deadline does not wait for a send that never returns', async () => {
  const hanging: Producer = { send: () => new Promise(() => undefined), close: async () => undefined };
  const c = cursor();
  const sender = new Sender(hanging, options, { acked: () => assert.fail('nothing is acknowledged'), tooLarge: () => assert.fail(), log: testLog });
  sender.push(line(c, 1, 'a'));
  const started = Date.now();
  await sender.stop(200);
  assert.ok(Date.now() - started < 1000);
  assert.equal(c.offset, 0);
});
