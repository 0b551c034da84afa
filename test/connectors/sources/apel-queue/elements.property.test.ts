import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import fc from 'fast-check';
import { truncation } from '../../../../connectors/sources/apel-queue/complete.js';
import { startApelQueueSource } from '../../../../connectors/sources/apel-queue/source.js';
import { decodeOriginal, type DeadLetter } from '../../../../pipeline/dlq.js';
import { addQueueElement } from '../../../hostile/clients.js';
import { eventually, testLog } from '../../../support/world.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll } from '../../../support/topic-records.js';
import { envelopeOf, quick, tempQueue } from './support.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/**
 * The dirq element reader, property-style against the real Kafka: any element bytes become exactly
 * one raw.apel-message record (its text, byte for byte) or one dead letter (holding its bytes: not
 * UTF-8, or cut short), and
 * the element leaves the queue.
 */
test('any element bytes become one raw record or one dead letter, and leave the queue', { timeout: 120_000 }, async () => {
  const { bus, admin, raw, dlq } = await isolatedBus('kafkajs', { kind: 'apel-message' });
  const { queue } = await tempQueue();
  const elements = fc.sample(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), fc.string({ unit: 'binary', maxLength: 300 }).map((s) => Buffer.from(s)), fc.constant(Buffer.alloc(0))), { numRuns: 60, seed: 20261201 });
  for (const [i, bytes] of elements.entries()) await addQueueElement(queue, i + 1, bytes);
  const source = await startApelQueueSource({ path: queue, ...quick, maxRecordBytes: 4096, batchMaxBytes: 65_536 }, { bus, log: testLog });
  cleanups.push(async () => {
    await source.stop();
    await admin.close();
  });
  await eventually('the queue to empty', 60_000, async () => ((await readdir(`${queue}/00000001`)).filter((n) => /^[0-9a-f]{14}$/.test(n)).length === 0 ? true : undefined));
  const strict = new TextDecoder('utf-8', { fatal: true });
  // what the source passes on: UTF-8 that does not look cut short by a dying writer (complete.ts)
  const valid = elements.filter((bytes) => {
    try {
      return truncation(strict.decode(bytes)) === undefined;
    } catch {
      return false;
    }
  });
  const records = valid.length ? await readAll(bus, admin, raw, valid.length) : [];
  const letters = elements.length - valid.length ? await readAll(bus, admin, dlq, elements.length - valid.length) : [];
  assert.equal(records.length + letters.length, elements.length);
  assert.deepEqual(records.map((m) => envelopeOf(m).message).sort(), valid.map((bytes) => bytes.toString('utf8')).sort());
  const originals = letters.map((m) => decodeOriginal((JSON.parse(m.value?.toString('utf8') ?? '{}') as DeadLetter).original).toString('base64')).sort();
  assert.deepEqual(originals, elements.filter((bytes) => !valid.includes(bytes)).map((bytes) => bytes.toString('base64')).sort());
  for (const m of letters) assert.equal((JSON.parse(m.value?.toString('utf8') ?? '{}') as DeadLetter).reasons[0]?.code, 'RECORD_UNPARSABLE');
  assert.equal(source.stats().elements + source.stats().deadLettered, elements.length);
});
