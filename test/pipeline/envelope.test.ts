import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildEnvelope, readEnvelope } from '../../pipeline/envelope.js';
import { isTallyError } from '../../pipeline/errors.js';

const polluted = (): boolean => Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted') || ({} as Record<string, unknown>).polluted !== undefined;

test('any bytes read as an envelope with a string message, or a RECORD_UNPARSABLE for bytes that are not UTF-8; never another throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      try {
        const envelope = readEnvelope(Buffer.from(bytes));
        assert.equal(typeof envelope.message, 'string');
      } catch (error) {
        assert.ok(isTallyError(error, 'RECORD_UNPARSABLE'), String(error));
      }
    }),
    { numRuns: 3000 },
  );
});

test('any JSON value as a raw value: an object with a string message and a Filebeat field is the envelope, anything else the bare message', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
      const text = JSON.stringify(value);
      const envelope = readEnvelope(Buffer.from(text));
      const v = value as Record<string, unknown>;
      const isEnvelope = typeof value === 'object' && value !== null && !Array.isArray(value) && typeof v.message === 'string' && ['@timestamp', 'log', 'input', 'agent', '@metadata'].some((k) => k in v);
      assert.equal(envelope.message, isEnvelope ? v.message : text);
    }),
    { numRuns: 2000 },
  );
});

test('a Filebeat envelope written by a source reads back as itself, whatever its message and origin', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.option(fc.string({ maxLength: 40 }), { nil: undefined }), fc.option(fc.nat(), { nil: undefined }), (message, path, offset) => {
      const written = buildEnvelope({ message, inputType: 'filestream', ...(path !== undefined ? { path } : {}), ...(offset !== undefined ? { offset } : {}) });
      assert.deepEqual(readEnvelope(Buffer.from(JSON.stringify(written))), JSON.parse(JSON.stringify(written)));
    }),
    { numRuns: 1000 },
  );
});

test('`__proto__` and `constructor` keys in an envelope pollute nothing', () => {
  const keys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'message', 'log', '@timestamp');
  fc.assert(
    fc.property(fc.dictionary(keys, fc.jsonValue({ maxDepth: 2 })), fc.dictionary(keys, fc.jsonValue({ maxDepth: 2 })), (outer, inner) => {
      const text = JSON.stringify({ ...outer, message: 'm', '@timestamp': 't', log: inner }).replace('{', '{"__proto__":{"polluted":true},');
      const envelope = readEnvelope(Buffer.from(text));
      assert.equal(envelope.message, 'm');
      assert.equal(polluted(), false);
    }),
    { numRuns: 500 },
  );
});
