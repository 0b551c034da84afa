import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter, type Piece } from '../../../../connectors/sources/file-tail/lines.js';

const text = (pieces: Piece[]) => pieces.map((p) => (p.kind === 'line' ? p.bytes.toString() : `<oversize ${p.length}>`));

test('splits lines with offsets of their start and just past their newline', () => {
  const s = new LineSplitter(100, 1000);
  const pieces = s.push(Buffer.from('ab\ncde\n'));
  assert.deepEqual(text(pieces), ['ab', 'cde']);
  assert.deepEqual(pieces.map((p) => [p.start, p.end]), [[100, 103], [103, 107]]);
  assert.equal(s.offset, 107);
  assert.equal(s.pendingBytes, 0);
});

test('holds a partial last line until its newline arrives, across many chunks', () => {
  const s = new LineSplitter(0, 1000);
  assert.deepEqual(s.push(Buffer.from('{"a":')), []);
  assert.deepEqual(s.push(Buffer.from('1')), []);
  assert.equal(s.pendingStart, 0);
  assert.equal(s.pendingBytes, 6);
  const pieces = s.push(Buffer.from('}\nnext'));
  assert.deepEqual(text(pieces), ['{"a":1}']);
  assert.deepEqual([pieces[0]?.start, pieces[0]?.end], [0, 8]);
  assert.equal(s.pendingStart, 8);
});

test('drops a \\r before the newline and keeps empty lines as pieces', () => {
  const s = new LineSplitter(0, 1000);
  assert.deepEqual(text(s.push(Buffer.from('a\r\n\r\n\nb\n'))), ['a', '', '', 'b']);
});

test('a line over the limit comes out as oversize with its first bytes, without being buffered whole', () => {
  const s = new LineSplitter(0, 10, 4);
  const pieces = [...s.push(Buffer.from('ok\n0123456')), ...s.push(Buffer.from('789abcdef')), ...s.push(Buffer.from('XYZ\nfine\n'))];
  assert.deepEqual(text(pieces), ['ok', '<oversize 19>', 'fine']);
  const big = pieces[1];
  assert.ok(big?.kind === 'oversize');
  assert.equal(big.head.toString(), '0123');
  assert.deepEqual([big.start, big.end], [3, 23]);
  assert.deepEqual([pieces[2]?.start, pieces[2]?.end], [23, 28]);
});

test('a line of exactly the limit passes; one byte more does not', () => {
  const s = new LineSplitter(0, 5);
  assert.deepEqual(text(s.push(Buffer.from('12345\n123456\n12345\r\n'))), ['12345', '<oversize 6>', '12345']);
});

test('property: any chunking gives the same lines and contiguous offsets', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('a', 'b', '\n', '\r', 'é'), { maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }), (chars, cuts) => {
      const data = Buffer.from(chars.join(''));
      const whole = new LineSplitter(0, 1 << 20).push(data);
      const s = new LineSplitter(0, 1 << 20);
      const pieces: Piece[] = [];
      let at = 0;
      let i = 0;
      while (at < data.length) {
        const n = cuts[i++ % cuts.length] as number;
        pieces.push(...s.push(data.subarray(at, at + n)));
        at += n;
      }
      assert.deepEqual(text(pieces), text(whole));
      let expected = 0;
      for (const p of pieces) {
        assert.equal(p.start, expected);
        expected = p.end;
      }
      assert.equal(s.pendingStart, expected);
      assert.equal(data.subarray(expected).includes(10), false, 'what is held has no newline');
    }),
  );
});
