import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ApelBatcher, type SealedBatch } from '../../../../connectors/sinks/apel/batcher.js';
import { assemble, type MessageFraming } from '../../../../connectors/sinks/apel/render/framing.js';

const framings: Record<string, MessageFraming> = { cloud: { head: 'H\n', separator: '\n%%\n', tail: '\n' }, ip: { head: '[', separator: ', ', tail: ']' } };
const entry = (id: string, text: string, offset: number, partition = 0) => ({ id, text, partition, offset: BigInt(offset), message: `${partition}/${offset}` });

test('sealed by count; types never mixed; the later snapshot of a record replaces the earlier one in place', () => {
  const batcher = new ApelBatcher<string>({ maxRecords: 3, maxBytes: 10_000 }, framings);
  assert.deepEqual(batcher.add('cloud', entry('a', 'a1', 1), 0), []);
  assert.deepEqual(batcher.add('ip', entry('x', 'x1', 2), 0), []);
  assert.deepEqual(batcher.add('cloud', entry('b', 'b1', 3), 0), []);
  assert.deepEqual(batcher.add('cloud', entry('a', 'a2', 4), 0), [], 'a replacement does not count');
  const sealed = batcher.add('cloud', entry('c', 'c1', 5), 0);
  assert.deepEqual(sealed, [{ type: 'cloud', texts: ['a2', 'b1', 'c1'], messages: ['0/1', '0/3', '0/4', '0/5'], bytes: assemble(framings.cloud as MessageFraming, ['a2', 'b1', 'c1']).length, superseded: 1 }]);
  assert.equal(batcher.pendingRecords(), 1);
  assert.deepEqual(batcher.drain().map((b) => [b.type, b.texts]), [['ip', ['x1']]]);
});

test('an earlier offset arriving after a later one (a redelivery) does not replace it; across partitions the later arrival wins', () => {
  const batcher = new ApelBatcher<string>({ maxRecords: 100, maxBytes: 10_000 }, framings);
  batcher.add('cloud', entry('a', 'new', 9), 0);
  batcher.add('cloud', entry('a', 'old', 7), 0);
  batcher.add('cloud', entry('b', 'p0', 9, 0), 0);
  batcher.add('cloud', entry('b', 'p1', 2, 1), 0);
  const [batch] = batcher.drain();
  assert.deepEqual(batch?.texts, ['new', 'p1']);
  assert.deepEqual(batch?.messages, ['0/9', '0/7', '0/9', '1/2'], 'every message is accounted for, so its offset can be committed');
  assert.equal(batch?.superseded, 2);
});

test('sealed by size: the record that would cross maxBytes opens the next message; a record too big alone is refused', () => {
  const framing = framings.ip as MessageFraming;
  const batcher = new ApelBatcher<string>({ maxRecords: 100, maxBytes: 2 + 10 + 2 + 10 }, framings);
  assert.equal(batcher.fits('ip', 22), true);
  assert.equal(batcher.fits('ip', 23), false);
  batcher.add('ip', entry('a', 'x'.repeat(10), 1), 0);
  const sealed = batcher.add('ip', entry('b', 'y'.repeat(11), 2), 0);
  assert.deepEqual(sealed.map((b) => b.texts), [['x'.repeat(10)]]);
  assert.ok((sealed[0]?.bytes ?? 0) <= 24 && sealed[0]?.bytes === assemble(framing, sealed[0]?.texts ?? []).length);
  assert.throws(() => batcher.add('ip', entry('c', 'z'.repeat(30), 3), 0), RangeError);
  // a replacement that no longer fits: the old snapshot leaves, the new one opens the next message
  const replacing = new ApelBatcher<string>({ maxRecords: 100, maxBytes: 2 + 5 + 2 + 5 }, framings);
  replacing.add('ip', entry('a', 'aaaaa', 1), 0);
  replacing.add('ip', entry('b', 'bbb', 2), 0);
  const out = replacing.add('ip', entry('b', 'bbbbbbb', 3), 0);
  assert.deepEqual(out.map((b) => [b.texts, b.messages]), [[['aaaaa'], ['0/1', '0/2']]]);
  assert.deepEqual(replacing.drain().map((b) => [b.texts, b.messages]), [[['bbbbbbb'], ['0/3']]]);
});

test('sealed by time; clear drops what is open', () => {
  const batcher = new ApelBatcher<string>({ maxRecords: 100, maxBytes: 10_000 }, framings);
  batcher.add('cloud', entry('a', 'a', 1), 1000);
  batcher.add('ip', entry('x', 'x', 2), 1500);
  assert.equal(batcher.oldestOpenedAt(), 1000);
  assert.deepEqual(batcher.due(1999, 1000), []);
  assert.deepEqual(batcher.due(2000, 1000).map((b) => b.type), ['cloud']);
  assert.equal(batcher.clear(), 1);
  assert.equal(batcher.pendingRecords(), 0);
});

test('clear counts the superseded snapshots it drops too: the sink subtracts them from its unwritten records (or /readyz would say stalled for ever)', () => {
  const batcher = new ApelBatcher<string>({ maxRecords: 100, maxBytes: 10_000 }, framings);
  batcher.add('cloud', entry('a', 'a1', 1), 0);
  batcher.add('cloud', entry('a', 'a2', 2), 0);
  batcher.add('cloud', entry('a', 'a0', 0), 0);
  batcher.add('ip', entry('x', 'x1', 3), 0);
  assert.equal(batcher.clear(), 4, 'four Kafka messages were added, one record each');
  assert.deepEqual(batcher.drain(), []);
});

test('property: every message is accounted for exactly once, each sealed message keeps the limits, holds one snapshot per id, the latest one', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ type: fc.constantFrom('cloud', 'ip'), id: fc.integer({ min: 0, max: 15 }), size: fc.integer({ min: 1, max: 40 }) }), { maxLength: 300 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 60, max: 300 }),
      (inputs, maxRecords, maxBytes) => {
        const batcher = new ApelBatcher<string>({ maxRecords, maxBytes }, framings);
        const sealed: SealedBatch<string>[] = [];
        const latest = new Map<string, number>();
        for (const [offset, input] of inputs.entries()) {
          const id = `${input.type}-${input.id}`;
          sealed.push(...batcher.add(input.type, entry(id, `${id}@${offset}:`.padEnd(input.size + 12, '.'), offset), offset));
          latest.set(id, offset);
        }
        sealed.push(...batcher.drain());
        const messages = sealed.flatMap((b) => b.messages).sort();
        assert.deepEqual(messages, inputs.map((_, offset) => `0/${offset}`).sort());
        const lastWritten = new Map<string, number>();
        for (const batch of sealed) {
          assert.ok(batch.texts.length <= maxRecords);
          assert.ok(batch.texts.length === 0 || batch.bytes <= maxBytes);
          const ids = batch.texts.map((t) => t.split('@')[0] ?? '');
          assert.equal(new Set(ids).size, ids.length, 'one snapshot per id in a message');
          for (const t of batch.texts) {
            const [id, at] = t.split(/[@:]/);
            lastWritten.set(id ?? '', Number(at));
          }
        }
        assert.deepEqual(lastWritten, latest, 'the last message holding an id holds its latest snapshot');
      },
    ),
    { numRuns: 300 },
  );
});
