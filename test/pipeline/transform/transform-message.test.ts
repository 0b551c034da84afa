import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainCodec } from '../../../pipeline/avro.js';
import { normaliseEnvelope, recordHeaders } from '../../../pipeline/transform/transform-message.js';
import { decodeOriginal, type DeadLetter } from '../../../pipeline/dlq.js';

test('domain records carry the fingerprint, and tally-kind only on topics several kinds write; one shared object per topic and kind', () => {
  const usage = domainCodec('accounting.usage');
  assert.deepEqual({ ...recordHeaders('accounting.usage', 'accounting', usage.fingerprint) }, { 'tally-schema-fingerprint': usage.fingerprint });
  assert.equal(recordHeaders('accounting.usage', 'accounting', usage.fingerprint), recordHeaders('accounting.usage', 'accounting', usage.fingerprint), 'no object per record');
  const vm = domainCodec('cloud.vm');
  assert.deepEqual({ ...recordHeaders('cloud.vm', 'caso-json', vm.fingerprint) }, { 'tally-schema-fingerprint': vm.fingerprint, 'tally-kind': 'caso-json' });
  assert.equal(recordHeaders('cloud.vm', 'apel-message', vm.fingerprint)['tally-kind'], 'apel-message');
  assert.equal(recordHeaders('audit.events', 'ror-audit', domainCodec('audit.events').fingerprint)['tally-kind'], 'ror-audit');
  assert.ok(Object.isFrozen(recordHeaders('cloud.vm', 'caso-json', vm.fingerprint)), 'shared, so nobody may change it');
});

test('a normaliser that throws gives a NORMALISER_FAILED dead letter with the original bytes, not a crash', () => {
  const original = Buffer.from('{"message":"x"}');
  const message = { topic: 'raw.accounting', partition: 3, offset: '42', key: null, value: original, headers: {}, timestamp: 0, generation: 1 };
  const throwing = { kind: 'accounting', topics: ['accounting.usage'], normalise: () => { throw new TypeError('boom'); } };
  const outputs = normaliseEnvelope({ '@timestamp': '2024-01-01T00:00:00Z', message: 'x' }, message, 'accounting', throwing, (name) => name);
  assert.equal(outputs.records.length, 0);
  assert.equal(outputs.deadLetters.length, 1);
  const letter = JSON.parse(outputs.deadLetters[0]!.value!.toString()) as DeadLetter;
  assert.equal(letter.reasons[0]!.code, 'NORMALISER_FAILED');
  assert.match(letter.reasons[0]!.message, /boom/);
  assert.deepEqual(decodeOriginal(letter.original), original);
});
