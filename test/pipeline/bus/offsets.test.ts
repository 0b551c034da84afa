import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetLedger } from '../../../pipeline/bus/offsets.js';

test('commits only the highest contiguous done offset per partition', () => {
  const ledger = new OffsetLedger();
  for (const offset of [0, 1, 2, 3]) ledger.deliver('t', 0, offset);
  ledger.done('t', 0, 1);
  ledger.done('t', 0, 2);
  assert.deepEqual(ledger.takeCommittable(), [], 'offset 0 is not done, so nothing is committable');
  ledger.done('t', 0, 0);
  assert.deepEqual(ledger.takeCommittable(), [{ topic: 't', partition: 0, offset: 3 }]);
  assert.equal(ledger.inFlight(), 1);
});

test('follows delivery order across offset gaps (compaction, transaction markers)', () => {
  const ledger = new OffsetLedger();
  for (const offset of [10, 14, 15]) ledger.deliver('t', 1, offset);
  ledger.done('t', 1, 10);
  ledger.done('t', 1, 14);
  assert.deepEqual(ledger.takeCommittable(), [{ topic: 't', partition: 1, offset: 15 }]);
});

test('a commit point is reported once until it moves again', () => {
  const ledger = new OffsetLedger();
  ledger.deliver('t', 0, 0);
  ledger.deliver('t', 0, 1);
  ledger.done('t', 0, 0);
  const first = ledger.takeCommittable();
  ledger.markCommitted(first);
  assert.deepEqual(ledger.takeCommittable(), []);
  ledger.done('t', 0, 1);
  assert.deepEqual(ledger.takeCommittable(), [{ topic: 't', partition: 0, offset: 2 }]);
});

test('partitions are independent and reset forgets revoked ones', () => {
  const ledger = new OffsetLedger();
  ledger.deliver('t', 0, 5);
  ledger.deliver('t', 1, 7);
  ledger.done('t', 1, 7);
  assert.deepEqual(ledger.takeCommittable(), [{ topic: 't', partition: 1, offset: 8 }]);
  ledger.reset([{ topic: 't', partition: 0 }]);
  assert.equal(ledger.inFlight(), 0);
  assert.equal(ledger.done('t', 0, 5), false, 'done for a revoked partition is ignored');
});

test('done twice or for an already committed offset is ignored', () => {
  const ledger = new OffsetLedger();
  ledger.deliver('t', 0, 0);
  assert.equal(ledger.done('t', 0, 0), true);
  assert.equal(ledger.done('t', 0, 0), false);
  assert.equal(ledger.inFlight(), 0);
});

test('stays correct over a long run with random completion order', () => {
  const ledger = new OffsetLedger();
  const n = 5000;
  for (let i = 0; i < n; i += 1) ledger.deliver('t', 0, i);
  const order = Array.from({ length: n }, (_, i) => i).sort(() => Math.random() - 0.5);
  let highest = 0;
  const doneSet = new Set<number>();
  for (const offset of order) {
    ledger.done('t', 0, offset);
    doneSet.add(offset);
    while (doneSet.has(highest)) highest += 1;
    const points = ledger.takeCommittable();
    if (points.length) {
      assert.equal(points[0]?.offset, highest);
      ledger.markCommitted(points);
    }
  }
  assert.equal(highest, n);
  assert.equal(ledger.inFlight(), 0);
});

test('a commit marker the position passed counts as done: the commit point steps over it, never over undone work', () => {
  const ledger = new OffsetLedger();
  for (const offset of [0, 1, 2]) ledger.deliver('t', 0, offset);
  assert.equal(ledger.passed('t', 0, 3), true, 'the marker after the last record');
  ledger.done('t', 0, 0);
  ledger.done('t', 0, 2);
  assert.deepEqual(ledger.takeCommittable(), [{ topic: 't', partition: 0, offset: 1 }], 'offset 1 is not done: the marker waits behind it');
  ledger.done('t', 0, 1);
  assert.deepEqual(ledger.takeCommittable(), [{ topic: 't', partition: 0, offset: 4 }], 'past the marker: lag 0');
  assert.equal(ledger.passed('t', 0, 2), false, 'an offset already delivered is not passed again');
  assert.equal(ledger.passed('t', 0, 3), false, 'nor one below the commit point');
  assert.deepEqual(ledger.points(), [{ topic: 't', partition: 0, offset: 4 }]);
  assert.equal(ledger.tracks('t', 1), false);
});
