import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseBody } from '../../../../connectors/sources/http/body.js';

const events = (body: string, type?: string) => {
  const parsed = parseBody(Buffer.from(body), type);
  assert.ok('events' in parsed, `expected events, got ${JSON.stringify(parsed)}`);
  return parsed.events.map((e) => e.message);
};
const problems = (body: string | Buffer, type?: string) => {
  const parsed = parseBody(Buffer.isBuffer(body) ? body : Buffer.from(body), type);
  assert.ok('problems' in parsed, `expected problems, got ${JSON.stringify(parsed)}`);
  return parsed.problems.map((p) => p.reason);
};

test('one object, an array of objects, NDJSON', () => {
  assert.deepEqual(events('{"a":1}'), ['{"a":1}']);
  assert.deepEqual(events('[{"a":1},{"b":2}]'), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(events('{"a":1}\n{"b":2}\n', 'application/x-ndjson'), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(events('{"a":1}\r\n\r\n{"b":2}'), ['{"a":1}', '{"b":2}'], 'NDJSON without its content type, blank lines skipped');
  assert.deepEqual(events('\uFEFF{"a":1}'), ['{"a":1}'], 'a BOM is dropped');
});

test('NDJSON keeps each line as sent', () => {
  assert.deepEqual(events('{"a": 1,  "b":"x"}\n', 'application/x-ndjson'), ['{"a": 1,  "b":"x"}']);
});

test('malformed bodies say what and where', () => {
  assert.match(problems('{"a":')[0] ?? '', /not valid JSON/);
  const lines = problems('{"a":1}\nnot json\n[1]', 'application/x-ndjson');
  assert.match(lines[0] ?? '', /^line 2 is not valid JSON/);
  assert.match(lines[1] ?? '', /^line 3 must be a JSON object, got an array/);
  assert.match(problems('[{"a":1}, 5]')[0] ?? '', /element 2 of the array must be a JSON object, got a number/);
  assert.match(problems('"text"')[0] ?? '', /got a string/);
  assert.match(problems('   ')[0] ?? '', /empty/);
  assert.match(problems(Buffer.from([0x7b, 0xff, 0x7d]))[0] ?? '', /not valid UTF-8/);
});

test('any body gives events or problems, never a throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(undefined, 'application/json', 'application/x-ndjson'), (bytes, type) => {
      const parsed = parseBody(Buffer.from(bytes), type);
      assert.ok('events' in parsed || 'problems' in parsed);
    }),
    { numRuns: 2000 },
  );
});
