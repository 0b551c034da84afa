import { test } from 'node:test';
import assert from 'node:assert/strict';
import { domainCodec } from '../../../pipeline/avro.js';
import { TallyError } from '../../../pipeline/errors.js';
import { decodeDomainValue, useRegistry } from '../../../pipeline/registry/domain-values.js';
import { encodeWire } from '../../../pipeline/registry/wire-format.js';

const codec = domainCodec('accounting.usage');
const record = { ...(codec.type.random() as unknown as Record<string, unknown>), id: 'u-1' };
const bare = codec.encode(record);
const refusal = (run: () => unknown): TallyError => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof TallyError);
    return error;
  }
  assert.fail('expected a refusal');
};

test('without a registry: bare Avro is read with or without its fingerprint header; a wire-format value is refused naming the rule and the fix', () => {
  useRegistry(undefined);
  const expected = codec.decode(bare);
  assert.deepEqual(decodeDomainValue('accounting.usage', { value: bare, headers: { 'tally-schema-fingerprint': Buffer.from(codec.fingerprint) } }, 'x'), expected);
  assert.deepEqual(decodeDomainValue('accounting.usage', { value: bare, headers: {} }, 'x'), expected, 'a bare value of a Tally schema never starts with 0');
  const framed = refusal(() => decodeDomainValue('accounting.usage', { value: encodeWire(7, bare), headers: {} }, 'accounting.usage/0 offset 3'));
  assert.equal(framed.code, 'RECORD_UNPARSABLE');
  assert.equal(framed.details?.rule, 'wire-format');
  assert.match(framed.message, /^accounting\.usage\/0 offset 3: .*set registry\.url/);
  const other = refusal(() => decodeDomainValue('accounting.usage', { value: bare, headers: { 'tally-schema-fingerprint': Buffer.from('00ff') } }, 'x'));
  assert.equal(other.details?.rule, 'schema-fingerprint');
});
