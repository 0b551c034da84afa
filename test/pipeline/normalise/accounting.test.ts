import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { accountingLineFilter } from '../../../connectors/sources/file-tail/config.js';
import { domainCodec } from '../../../pipeline/avro.js';
import { buildEnvelope, readEnvelope, type RawEnvelope } from '../../../pipeline/envelope.js';
import { isTallyError } from '../../../pipeline/errors.js';
import { accountingNormaliser, syntaxErrorAt } from '../../../pipeline/normalise/accounting.js';
import { normaliserFor } from '../../../pipeline/normalise/index.js';
import type { NormalisedRecord } from '../../../pipeline/normalise/types.js';
import type { RejectionReason } from '../../../pipeline/dlq.js';
import { projectRoot } from '../../../pipeline/paths.js';

const fixtureDir = path.join(projectRoot, 'test/fixtures/accounting');
const fixtureLines = (name: string) => readFileSync(path.join(fixtureDir, name), 'utf8').split('\n').filter((line) => line !== '');
const codec = domainCodec('accounting.usage');
const file = '/var/log/neanias/accounting.json';
const host = 'sp-01.example.org';

/** a line as the file tailer sends it: path, offset, device + inode, host */
function fromFile(message: string, offset = 0, extra: { path?: string; inode?: string; device?: string; host?: string } = {}): RawEnvelope {
  const envelope = buildEnvelope({ message, inputType: 'filestream', path: extra.path ?? file, offset, tags: ['accounting'] });
  (envelope.log?.file as Record<string, unknown>).inode = extra.inode ?? '140027';
  (envelope.log?.file as Record<string, unknown>).device_id = extra.device ?? '64514';
  envelope.host = { name: extra.host ?? host };
  return envelope;
}

function record(envelope: RawEnvelope | string): NormalisedRecord {
  const result = accountingNormaliser.normalise(typeof envelope === 'string' ? fromFile(envelope) : envelope);
  assert.deepEqual(result.rejections, [], `expected a record, got ${JSON.stringify(result.rejections)}`);
  assert.equal(result.records.length, 1);
  return result.records[0] as NormalisedRecord;
}

function reasons(envelope: RawEnvelope | string): RejectionReason[] {
  const result = accountingNormaliser.normalise(typeof envelope === 'string' ? fromFile(envelope) : envelope);
  assert.deepEqual(result.records, [], 'expected a rejection');
  assert.equal(result.rejections.length, 1);
  return result.rejections[0]?.reasons ?? [];
}

const entry = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ timestamp: '2021-03-01T08:00:00Z', serviceid: 'neanias-atmo-flud', level: 'accounting', userid: 'maria.papadopoulou@athenarc.gr', resource: 'job/atmo-flud-5231', action: 'run-simulation', ...fields });

const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

test('the registry knows accounting and names the known kinds for an unknown one', () => {
  assert.equal(normaliserFor('accounting'), accountingNormaliser);
  assert.deepEqual(accountingNormaliser.topics, ['accounting.usage']);
  for (const kind of ['caso', '__proto__', 'toString', '']) {
    assert.throws(() => normaliserFor(kind), (error: unknown) => isTallyError(error, 'USAGE') && /known kinds are accounting/.test(error.message));
  }
});

test('every valid fixture line becomes one accounting.usage record that Avro encodes and decodes unchanged', () => {
  const lines = fixtureLines('valid.ndjson');
  assert.ok(lines.length >= 30);
  let offset = 0;
  for (const line of lines) {
    const normalised = record(fromFile(line, offset));
    assert.equal(normalised.topic, 'accounting.usage');
    assert.match(normalised.id, /^[0-9a-f]{32}$/);
    assert.equal(normalised.value.id, normalised.id);
    const decoded = codec.decode(codec.encode(normalised.value));
    assert.deepEqual(plain(decoded), plain(normalised.value), line);
    offset += Buffer.byteLength(line) + 1;
  }
});

test('the record has exactly the Avro fields, in schema order; keys outside the model are not carried', () => {
  const fields = (codec.type as unknown as { fields: { name: string }[] }).fields.map((f) => f.name);
  const value = record(entry({ requestid: '9c1e7a52', host: 'uw-map-worker-2', nested: { a: [1, 2] } })).value;
  assert.deepEqual(Object.keys(value), fields);
  assert.deepEqual(Object.keys(value.source as object), ['input', 'host', 'path', 'offset', 'client', 'tags']);
});

test('defaults: value 1, measure unit, type +; optional fields given as null count as omitted', () => {
  for (const line of [entry(), entry({ value: null, measure: null, type: null, userdelegate: null, comment: null, starttime: null, endtime: null })]) {
    const value = record(line).value;
    assert.equal(value.value, 1);
    assert.equal(value.signed_value, 1);
    assert.equal(value.measure, 'unit');
    assert.equal(value.unit, '1');
    assert.equal(value.type, '+');
    for (const field of ['userdelegate', 'comment', 'starttime', 'endtime', 'duration_ms']) assert.equal(value[field], null, field);
  }
  assert.equal(record(entry({ userdelegate: '  ' })).value.userdelegate, null, 'a blank delegate is no delegate');
  assert.equal(record(entry({ comment: '' })).value.comment, '', 'a comment is kept as given');
});

test('signed value: + keeps, - negates, 0 resets to 0', () => {
  const signed = (type: string | undefined, value: number) => record(entry({ type, value })).value.signed_value;
  assert.equal(signed('+', 5.1), 5.1);
  assert.equal(signed(undefined, 5.1), 5.1);
  assert.equal(signed('-', 5.1), -5.1);
  assert.equal(signed('0', 5.1), 0);
  assert.ok(Object.is(signed('-', 0), 0), 'a negated zero is +0');
  assert.equal(signed('-', -2), 2);
  assert.equal(record(entry({ type: '-', value: 5.1 })).value.value, 5.1, 'value stays as given');
});

test('units follow the measure, which is kept as given', () => {
  const unitOf = (measure: string) => {
    const value = record(entry({ measure })).value;
    assert.equal(value.measure, measure);
    return value.unit;
  };
  assert.equal(unitOf('time'), 'ms');
  assert.equal(unitOf('information'), 'MB');
  assert.equal(unitOf('throughput'), 'MB/s');
  assert.equal(unitOf('unit'), '1');
  assert.equal(unitOf('Time'), 'ms');
  assert.equal(unitOf('gpu-hours'), null);
});

test('date-times: 7-digit fractions, offsets, no offset as UTC, to the millisecond', () => {
  const at = (timestamp: string) => new Date(record(entry({ timestamp })).value.timestamp as number).toISOString();
  assert.equal(at('2021-03-01T08:00:13.1234567Z'), '2021-03-01T08:00:13.123Z');
  assert.equal(at('2021-03-01T23:59:59.9999999Z'), '2021-03-01T23:59:59.999Z', 'the fraction is cut, never rounded into the next day');
  assert.equal(at('2021-03-01T09:15:02.4410000+02:00'), '2021-03-01T07:15:02.441Z');
  assert.equal(at('2021-03-01T12:45:00-05:00'), '2021-03-01T17:45:00.000Z');
  assert.equal(at('2021-03-01T12:45:00+0530'), '2021-03-01T07:15:00.000Z');
  assert.equal(at('2021-03-01T12:45:00+01'), '2021-03-01T11:45:00.000Z');
  assert.equal(at('2021-03-01T17:45:12.0000000'), '2021-03-01T17:45:12.000Z');
  assert.equal(at('2021-03-01 16:10:05z'), '2021-03-01T16:10:05.000Z');
  assert.equal(at('2020-02-29T00:00:00.5Z'), '2020-02-29T00:00:00.500Z');
  assert.equal(at('0050-06-01T00:00:00Z'), '0050-06-01T00:00:00.000Z', 'years below 100 are not read as 19xx');
  for (const timestamp of ['2020-13-01T00:00:00Z', '2021-02-29T00:00:00Z', '2021-03-01', '2021-03-01T24:00:00Z', '2021-03-01T10:60:00Z', '2021-03-01T10:00Z', '01/03/2021 10:00:00', '2021-03-01T10:00:00+25:00', 'yesterday']) {
    assert.equal(reasons(entry({ timestamp }))[0]?.rule, 'date-time', timestamp);
  }
});

test('duration and the endtime rule', () => {
  const value = record(entry({ starttime: '2021-03-01T09:01:17+02:00', endtime: '2021-03-01T07:15:02.4410000Z' })).value;
  assert.equal(value.duration_ms, 825441);
  assert.equal(record(entry({ starttime: '2021-03-01T09:00:00Z', endtime: '2021-03-01T09:00:00Z' })).value.duration_ms, 0);
  const [reason] = reasons(entry({ starttime: '2021-03-01T09:00:00.0000002Z', endtime: '2021-03-01T09:00:00.0000001Z' }));
  assert.equal(reason?.rule, 'endtime-not-before-starttime', 'compared beyond the millisecond');
  assert.equal(reason?.path, '/endtime');
  const several = reasons(entry({ starttime: '2021-03-01T10:00:00Z', endtime: '2021-03-01T09:00:00Z', value: 'x' }));
  assert.deepEqual(several.map((r) => r.rule).sort(), ['endtime-not-before-starttime', 'type'], 'every reason at once');
});

/** what each line of invalid.ndjson breaks, in order */
const expectedRejections: { code: string; rule: string; path?: string; message: RegExp }[] = [
  { code: 'RECORD_INVALID', rule: 'required', path: '/userid', message: /^`userid` is required but missing/ },
  { code: 'RECORD_INVALID', rule: 'required', path: '/timestamp', message: /^`timestamp` is required but missing/ },
  { code: 'RECORD_INVALID', rule: 'const', path: '/level', message: /^`level` must be "accounting", got "Accounting"; only lowercase/ },
  { code: 'RECORD_INVALID', rule: 'type', path: '/value', message: /^`value` must be a number, got "5,1"; write it as a JSON number, without quotes: 5\.1/ },
  { code: 'RECORD_INVALID', rule: 'enum', path: '/type', message: /^`type` must be one of "\+", "-", "0", got "plus"/ },
  { code: 'RECORD_INVALID', rule: 'date-time', path: '/timestamp', message: /^`timestamp` must be an ISO 8601 date-time such as 2020-09-01T13:00:00Z .*, got "2020-13-01T10:00:00Z"/ },
  { code: 'RECORD_INVALID', rule: 'date-time', path: '/starttime', message: /^`starttime` must be an ISO 8601 date-time .*, got "2021-02-30T08:00:00Z"/ },
  { code: 'RECORD_INVALID', rule: 'endtime-not-before-starttime', path: '/endtime', message: /^`endtime` must not be before `starttime`, got endtime "2021-03-02T08:59:59.9990000Z" and starttime "2021-03-02T09:00:00Z"/ },
  { code: 'RECORD_UNPARSABLE', rule: 'json', message: /^the line is not valid JSON: unexpected non-whitespace character after JSON at column 5, after `2021`/ },
  { code: 'RECORD_UNPARSABLE', rule: 'json', message: /^the line is not valid JSON: it ends at column 151 before the JSON is complete \(truncated\?\)/ },
  { code: 'RECORD_INVALID', rule: 'type', path: '', message: /^an accounting entry must be a JSON object, got an array/ },
  { code: 'RECORD_INVALID', rule: 'finite', path: '/value', message: /^`value` must be a finite number, got a number too large for a double/ },
  { code: 'RECORD_INVALID', rule: 'non-empty', path: '/serviceid', message: /^`serviceid` must be a non-empty string, got ""/ },
  { code: 'RECORD_INVALID', rule: 'type', path: '/resource', message: /^`resource` must be a string, got 42/ },
  { code: 'RECORD_INVALID', rule: 'date-time', path: '/timestamp', message: /got "2021-03-02"/ },
  { code: 'RECORD_INVALID', rule: 'non-empty', path: '/measure', message: /^`measure` must be a non-empty string, got ""/ },
  { code: 'RECORD_INVALID', rule: 'non-empty', path: '/userid', message: /^`userid` must be a non-empty string, got "   "/ },
  { code: 'RECORD_INVALID', rule: 'enum', path: '/type', message: /^`type` must be one of "\+", "-", "0", got 0; write it as the string "0"/ },
  { code: 'RECORD_INVALID', rule: 'required', path: '/userid', message: /^`userid` is required but missing; found `UserId`, but field names are lowercase/ },
  { code: 'RECORD_UNPARSABLE', rule: 'json', message: /^the line is not valid JSON: expected double-quoted property name at column \d+, after `…[^`]*"value":3,`/ },
  { code: 'RECORD_INVALID', rule: 'date-time', path: '/timestamp', message: /got "02\/03\/2021 09:00:00"/ },
  { code: 'RECORD_INVALID', rule: 'date-time', path: '/endtime', message: /got "2021-03-02T24:00:00Z"/ },
  { code: 'RECORD_INVALID', rule: 'type', path: '/value', message: /^`value` must be a number, got true/ },
];

test('each invalid fixture line is rejected for the one rule it breaks, in words that name the field, the expectation, the value and the origin', () => {
  const lines = fixtureLines('invalid.ndjson');
  assert.equal(lines.length, expectedRejections.length);
  let offset = 0;
  lines.forEach((line, index) => {
    const expected = expectedRejections[index]!;
    const got = reasons(fromFile(line, offset));
    assert.equal(got.length, 1, `line ${index + 1}: ${JSON.stringify(got)}`);
    const [reason] = got as [RejectionReason];
    assert.equal(reason.code, expected.code, `line ${index + 1}`);
    assert.equal(reason.rule, expected.rule, `line ${index + 1}`);
    assert.equal(reason.path, expected.path, `line ${index + 1}`);
    assert.match(reason.message, expected.message, `line ${index + 1}`);
    assert.ok(reason.message.endsWith(`(line at byte ${offset} of ${file} on host ${host})`), `line ${index + 1} names its origin: ${reason.message}`);
    offset += Buffer.byteLength(line) + 1;
  });
});

test('the invalid fixture lines, all but level ones, pass the ship filter (they reach the transform and its dead-letter topic)', () => {
  const filter = new RegExp(accountingLineFilter);
  const dropped = fixtureLines('invalid.ndjson').flatMap((line, index) => (filter.test(line) ? [] : [index + 1]));
  assert.deepEqual(dropped, [3]);
});

test('mixed.log: the lines the ship filter keeps all normalise; the others are not accounting', () => {
  const filter = new RegExp(accountingLineFilter);
  const lines = fixtureLines('mixed.log');
  const kept = lines.filter((line) => filter.test(line));
  assert.ok(kept.length >= 5 && kept.length < lines.length);
  for (const line of kept) record(line);
  for (const line of lines.filter((l) => !filter.test(l))) {
    const [first] = reasons(line);
    assert.ok(first?.code === 'RECORD_UNPARSABLE' || first?.rule === 'const' || first?.rule === 'required', `${line}: ${JSON.stringify(first)}`);
  }
});

test('a Level key stands for level; the line\'s other field names are lowercase', () => {
  const line = JSON.stringify({ ...(JSON.parse(entry()) as object), level: undefined, Level: 'accounting' });
  assert.equal(record(line).value.level, 'accounting');
  assert.equal(reasons(JSON.stringify({ ...(JSON.parse(entry()) as object), level: undefined, Level: 'Accounting' }))[0]?.rule, 'const');
});

test('the probe may supply serviceid (Filebeat fields.serviceid); the line\'s own wins', () => {
  const withoutService = JSON.stringify({ ...(JSON.parse(entry()) as object), serviceid: undefined });
  const envelope = { ...fromFile(withoutService), fields: { serviceid: 'neanias-uw-bat' } };
  assert.equal(record(envelope).value.serviceid, 'neanias-uw-bat');
  assert.equal(record({ ...fromFile(entry()), fields: { serviceid: 'neanias-uw-bat' } }).value.serviceid, 'neanias-atmo-flud');
  assert.equal(reasons(fromFile(withoutService))[0]?.path, '/serviceid');
});

test('source coordinates come from the envelope: Filebeat events over beats, file lines, HTTP', () => {
  const [first, , third] = fixtureLines('../beats/filebeat-events.ndjson').map((line) => record(readEnvelope(line)));
  assert.deepEqual(first?.value.source, { input: 'filestream', host: 'sp-01.example.org', path: '/var/log/neanias/accounting.json', offset: 0, client: null, tags: ['accounting'] });
  assert.equal((third?.value.source as { client: string }).client, '10.1.2.3:51234');
  const http = record(buildEnvelope({ message: entry(), inputType: 'http', clientAddress: '192.0.2.7:40112' }));
  assert.deepEqual({ ...(http.value.source as object), host: null }, { input: 'http', host: null, path: null, offset: null, client: '192.0.2.7:40112', tags: [] });
  const odd = record({ '@timestamp': 'x', message: entry(), log: { offset: 1.5, file: { path: 7 } }, host: 'h', tags: ['a', 3], input: null } as unknown as RawEnvelope);
  assert.deepEqual(odd.value.source, { input: 'raw', host: null, path: null, offset: null, client: null, tags: ['a'] });
});

test('ids: the same line delivered again has the same id', () => {
  const line = entry({ value: 3 });
  assert.equal(record(fromFile(line, 812)).id, record(fromFile(line, 812)).id, 'replayed at the same coordinates');
  assert.equal(record(fromFile(line, 812)).id, record(fromFile(line, 812, { path: `${file}.1` })).id, 'the file renamed by rotation: same device and inode');
  assert.equal(record(fromFile(line, 812)).id, record(fromFile(`${line}\r`, 812)).id, 'a trailing CR is not part of the line');
  const viaHttp = (message: string) => record(buildEnvelope({ message, inputType: 'http', clientAddress: '192.0.2.7:40112' })).id;
  assert.equal(viaHttp(line), viaHttp(line), 'without file coordinates: the text decides');
  assert.equal(viaHttp(line), record(buildEnvelope({ message: line, inputType: 'beats', clientAddress: '198.51.100.1:5044' })).id);
  const [filebeat] = fixtureLines('../beats/filebeat-events.ndjson');
  assert.equal(record(readEnvelope(filebeat!)).id, record(readEnvelope(filebeat!)).id);
});

test('ids: a different line, or the same text elsewhere, never collides', () => {
  const line = entry({ value: 3 });
  const ids = new Set<string>();
  const add = (id: string, what: string) => {
    assert.ok(!ids.has(id), `collision: ${what}`);
    ids.add(id);
  };
  add(record(fromFile(line, 812)).id, 'first');
  add(record(fromFile(line, 813)).id, 'another offset');
  add(record(fromFile(line, 812, { inode: '140028' })).id, 'another inode');
  add(record(fromFile(line, 812, { device: '64515' })).id, 'another device');
  add(record(fromFile(line, 812, { host: 'sp-02.example.org' })).id, 'another host');
  add(record(fromFile(entry({ value: 4 }), 812)).id, 'another text at the same place');
  add(record(buildEnvelope({ message: line, inputType: 'http' })).id, 'no file coordinates');
  add(record(buildEnvelope({ message: entry({ value: 4 }), inputType: 'http' })).id, 'no file coordinates, another text');
  const noInode = buildEnvelope({ message: line, inputType: 'log', path: file, offset: 812 });
  noInode.host = { name: host };
  add(record(noInode).id, 'identity by path');
  for (const [offset, text] of fixtureLines('valid.ndjson').entries()) {
    add(record(fromFile(text, offset)).id, `valid line ${offset + 1}`);
    add(record(buildEnvelope({ message: text, inputType: 'http' })).id, `valid line ${offset + 1} over http`);
  }
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(fc.nat(1_000_000), fc.integer({ min: 0, max: 5 })), { minLength: 2, maxLength: 20, selector: (t) => `${t[0]}/${t[1]}` }), (places) => {
      const seen = new Set(places.map(([offset, value]) => record(fromFile(entry({ value }), offset)).id));
      assert.equal(seen.size, places.length);
    }),
    { numRuns: 200 },
  );
});

test('a __proto__ key neither pollutes nor stands in for a field', () => {
  const polluting = `{"__proto__":{"level":"accounting","polluted":true},"timestamp":"2021-03-01T08:00:00Z","serviceid":"s","userid":"u","resource":"r","action":"a"}`;
  assert.equal(reasons(polluting)[0]?.path, '/level');
  const withKeys = `{"__proto__":{"x":1},"constructor":{"prototype":{"polluted":true}},${entry().slice(1)}`;
  assert.equal(record(withKeys).value.serviceid, 'neanias-atmo-flud');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).level, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
});

test('deeply nested JSON does not crash', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  assert.equal(record(`${entry().slice(0, -1)},"extra":${deep(100_000)}}`).value.value, 1);
  assert.match(reasons(entry({ value: 0 }).replace('"value":0', `"value":${deep(100_000)}`))[0]?.message ?? '', /^`value` must be a number, got an array/);
  assert.equal(reasons(deep(100_000))[0]?.rule, 'type');
  assert.equal(reasons('['.repeat(100_000))[0]?.code, 'RECORD_UNPARSABLE');
  assert.equal(reasons(`{"a":${'{"a":'.repeat(50_000)}`)[0]?.code, 'RECORD_UNPARSABLE');
});

test('long values are cut short in the reason', () => {
  const [reason] = reasons(entry({ value: 'x'.repeat(10_000) }));
  assert.ok((reason?.message.length ?? 0) < 300, reason?.message);
  assert.match(reason?.message ?? '', /… \(10000 characters\)/);
});

test('JSON errors: our position agrees with V8 wherever V8 states one', () => {
  fc.assert(
    fc.property(fc.json(), fc.nat(), fc.nat(2), fc.constantFrom('', '}', ']', ',', ':', '"', '\\', 'x', '\n', '\u0001', '1', '.', '-', 'e', 't', '{', '['), (json, at, cut, insert) => {
      const i = at % (json.length + 1);
      const text = json.slice(0, i) + insert + json.slice(Math.min(json.length, i + cut));
      let message: string;
      try {
        JSON.parse(text);
        return;
      } catch (error) {
        message = (error as Error).message;
      }
      const position = /at position (\d+)/.exec(message)?.[1];
      const v8 = position !== undefined ? Number(position) : message === 'Unexpected end of JSON input' ? text.length : undefined;
      if (v8 !== undefined) assert.equal(syntaxErrorAt(text), v8, `${JSON.stringify(text)}: ${message}`);
    }),
    { numRuns: 5000 },
  );
});

test('any message gives records or rejections with reasons, never a throw', () => {
  const fieldValue = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('+', '-', '0', 'accounting', '2021-03-01T08:00:00Z', '2021-03-01T08:00:00.1234567+02:00', '2021-03-01 08:00:00'), fc.jsonValue());
  const model = fc.dictionary(fc.constantFrom('timestamp', 'serviceid', 'level', 'Level', 'userid', 'userdelegate', 'resource', 'action', 'comment', 'value', 'measure', 'type', 'starttime', 'endtime', '__proto__', 'extra'), fieldValue);
  const message = fc.oneof(fc.string(), fc.json(), model.map((m) => JSON.stringify({ ...(JSON.parse(entry()) as object), ...m })), fc.string().map((s) => entry().slice(0, s.length % 200)));
  fc.assert(
    fc.property(message, fc.boolean(), (text, viaFile) => {
      const result = accountingNormaliser.normalise(viaFile ? fromFile(text, 42) : buildEnvelope({ message: text, inputType: 'http' }));
      assert.equal(result.records.length + result.rejections.length, 1);
      for (const rejection of result.rejections) {
        assert.ok(rejection.reasons.length > 0);
        for (const reason of rejection.reasons) assert.ok(reason.code.startsWith('RECORD_') && reason.message.length > 0);
      }
      for (const normalised of result.records) codec.encode(normalised.value);
    }),
    { numRuns: 3000 },
  );
});
