import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeenValues } from '../../bench/seen-values.js';
import { SeededRandom } from '../../bench/random.js';

test('values seen in order move the lowest unseen value and leave no range', () => {
  const seen = new SeenValues();
  for (let v = 1; v <= 5; v += 1) assert.equal(seen.add(v), true);
  assert.equal(seen.lowestUnseen, 6);
  assert.deepEqual(seen.ranges(10), []);
  assert.equal(seen.add(3), false);
});

test('two interleaved partitions: the ranges above the gap are kept merged, and close when the gap fills', () => {
  const seen = new SeenValues();
  for (const v of [1, 2, 5, 6, 7, 10, 9, 12]) seen.add(v);
  assert.equal(seen.lowestUnseen, 3);
  assert.deepEqual(seen.ranges(10), [[5, 7], [9, 10], [12, 12]]);
  assert.deepEqual(seen.ranges(2), [[5, 7], [9, 10]]);
  seen.add(4);
  assert.deepEqual(seen.ranges(10), [[4, 7], [9, 10], [12, 12]]);
  seen.add(3);
  assert.equal(seen.lowestUnseen, 8);
  seen.add(11);
  assert.deepEqual(seen.ranges(10), [[9, 12]]);
  seen.add(8);
  assert.equal(seen.lowestUnseen, 13);
  assert.deepEqual(seen.ranges(10), []);
});

test('any order of a shuffled 1..n agrees with a set, and ends with everything seen', () => {
  const random = new SeededRandom(7);
  const n = 2000;
  const order = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(random.next() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const seen = new SeenValues();
  const set = new Set<number>();
  for (const v of order) {
    assert.equal(seen.add(v), !set.has(v));
    set.add(v);
    let lowest = 1;
    while (set.has(lowest)) lowest += 1;
    assert.equal(seen.lowestUnseen, lowest);
    for (const [from, to] of seen.ranges(Number.POSITIVE_INFINITY)) {
      assert.ok(from > lowest && from <= to);
      for (let x = from; x <= to; x += 1) assert.ok(set.has(x));
      assert.ok(!set.has(from - 1) && !set.has(to + 1));
    }
  }
  assert.equal(seen.lowestUnseen, n + 1);
});
