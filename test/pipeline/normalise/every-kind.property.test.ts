import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildEnvelope } from '../../../pipeline/envelope.js';
import { knownKinds, normaliserFor } from '../../../pipeline/normalise/index.js';

const polluted = (): boolean => ({} as Record<string, unknown>).polluted !== undefined;

/** Hostile-looking text: JSON with prototype keys and extreme numbers, CSV quoting, APEL headers and separators, XML, control characters. */
const fragments = fc.constantFrom('{', '}', '[', ']', '"', ',', ':', '""', '__proto__', 'constructor', 'prototype', '{"__proto__":{"polluted":1}}', '1e309', '-1e309', '9007199254740993', '\u0000', '\uFEFF', '\r\n', '\n', '%%\n', 'APEL-cloud-message: v0.4\n', '<?xml version="1.0"?>', '<sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord">', '=cmd|', 'Traceback (most recent call last):', '2017-05-16 00:00:17.504 25746 INFO x [-] ', '2012-04-01 09:05:47.002,', 'null', 'true', '\\ud800');
const hostileText = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fc.oneof(fragments, fc.string({ maxLength: 8 })), { maxLength: 30 }).map((parts) => parts.join('')), fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)));

for (const kind of knownKinds) {
  test(`${kind}: any text yields at least one record or rejection, every rejection with a typed reason; no throw, no prototype pollution`, () => {
    const normaliser = normaliserFor(kind);
    fc.assert(
      fc.property(hostileText, (message) => {
        const out = normaliser.normalise(buildEnvelope({ message, inputType: 'raw' }));
        assert.ok(out.records.length + out.rejections.length > 0, `${JSON.stringify(message)} vanished without a record or a rejection`);
        for (const rejection of out.rejections) {
          assert.ok(rejection.reasons.length > 0);
          for (const reason of rejection.reasons) assert.match(reason.code, /^RECORD_(UNPARSABLE|INVALID|TOO_LARGE|UNRENDERABLE)$/);
        }
        assert.equal(polluted(), false);
      }),
      { numRuns: 1500 },
    );
  });
}
