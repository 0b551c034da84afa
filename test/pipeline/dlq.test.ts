import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deadLetterRecord, decodeOriginal, originalUpTo, type DeadLetter } from '../../pipeline/dlq.js';

test('a dead letter keeps the original bytes exactly, text or binary', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const record = deadLetterRecord((n) => n, { kind: 'accounting', stage: 'transform', original: Buffer.from(bytes), source: { topic: 'raw.accounting', partition: 0, offset: '7' }, reasons: [{ code: 'RECORD_INVALID', message: 'x' }] });
      const letter = JSON.parse(String(record.value)) as DeadLetter;
      assert.deepEqual([...decodeOriginal(letter.original)], [...bytes]);
    }),
  );
});

test('topic, key, headers and reasons', () => {
  const record = deadLetterRecord((n) => `site.${n}`, { kind: 'ror-audit', stage: 'transform', original: Buffer.from('a,b'), source: { topic: 'site.raw.ror-audit', partition: 2, offset: '41', origin: 'line at byte 0 of /x.log' }, reasons: [{ code: 'RECORD_UNPARSABLE', rule: 'csv', message: 'unbalanced quote at column 3' }] });
  assert.equal(record.topic, 'site.dlq.ror-audit');
  assert.equal(record.key, 'site.raw.ror-audit/2/41');
  assert.deepEqual(record.headers, { 'tally-stage': 'transform', 'tally-reason': 'RECORD_UNPARSABLE' });
  const letter = JSON.parse(String(record.value)) as DeadLetter;
  assert.equal(letter.original.encoding, 'utf8');
  assert.equal(letter.reasons[0]?.message, 'unbalanced quote at column 3');
  assert.equal(letter.source?.origin, 'line at byte 0 of /x.log');
});

test('a stage that keeps only the first bytes says so: original.truncated with the whole length; a short original is kept whole', () => {
  const long = Buffer.alloc(70 * 1024, 0x61);
  const cut = deadLetterRecord((n) => n, { kind: 'accounting', stage: 'beats', original: originalUpTo(long, 64 * 1024), source: { origin: 'event 1' }, reasons: [{ code: 'RECORD_TOO_LARGE', message: 'x' }] });
  const letter = JSON.parse(String(cut.value)) as DeadLetter;
  assert.equal(letter.original.truncated, true);
  assert.equal(letter.original.bytes, long.length);
  assert.equal(decodeOriginal(letter.original).length, 64 * 1024);
  const whole = JSON.parse(String(deadLetterRecord((n) => n, { kind: 'accounting', stage: 'apel-queue', original: originalUpTo(Buffer.from('short'), 64 * 1024), reasons: [{ code: 'RECORD_INVALID', message: 'x' }] }).value)) as DeadLetter;
  assert.equal(whole.original.truncated, undefined);
  assert.equal(decodeOriginal(whole.original).toString(), 'short');
});
