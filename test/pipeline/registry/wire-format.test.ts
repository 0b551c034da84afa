import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeWire, encodeWire } from '../../../pipeline/registry/wire-format.js';
import { TallyError } from '../../../pipeline/errors.js';

test('the wire format is magic 0, the id big-endian, then the body', () => {
  assert.deepEqual([...encodeWire(0x01020304, Buffer.from([9, 8]))], [0, 1, 2, 3, 4, 9, 8]);
});

test('property: decode(encode(id, body)) gives the id and the body back', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 64 }), (id, body) => {
      const decoded = decodeWire(encodeWire(id, Buffer.from(body)), 'x');
      assert.equal(decoded.schemaId, id);
      assert.deepEqual([...decoded.body], [...body]);
    }),
  );
});

test('a value that is not framed is RECORD_UNPARSABLE naming the input and the rule', () => {
  const refused = (value: Buffer): TallyError => {
    try {
      decodeWire(value, 'accounting.usage[2]@17');
    } catch (error) {
      assert.ok(error instanceof TallyError);
      return error;
    }
    assert.fail('expected a refusal');
  };
  const short = refused(Buffer.from([0, 1]));
  assert.equal(short.code, 'RECORD_UNPARSABLE');
  assert.match(short.message, /^accounting\.usage\[2\]@17: 2 byte\(s\) cannot hold the Confluent wire format/);
  const bare = refused(Buffer.from([2, 0, 0, 0, 1, 5]));
  assert.match(bare.message, /the first byte is 2, not the Confluent wire format's magic byte 0/);
  assert.equal(bare.details?.rule, 'wire-format');
});
