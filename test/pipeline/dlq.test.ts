import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deadLetterRecord, decodeOriginal, type DeadLetter } from '../../pipeline/dlq.js';

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
