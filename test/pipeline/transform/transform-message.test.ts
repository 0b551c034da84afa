import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainCodec } from '../../../pipeline/avro.js';
import { recordHeaders } from '../../../pipeline/transform/transform-message.js';

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
