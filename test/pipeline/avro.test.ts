import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { domainCodec, schemaDir, toJsonDocument } from '../../pipeline/avro.js';
import { isTallyError } from '../../pipeline/errors.js';

const codec = domainCodec('accounting.usage');
const schemaText = readFileSync(path.join(schemaDir, 'accounting.usage.avsc'), 'utf8');

const usage = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: '7a0c3c23923453e30e24367dc61d7e48',
  timestamp: Date.parse('2021-03-01T08:00:13.123Z'),
  serviceid: 'neanias-atmo-flud',
  level: 'accounting',
  userid: 'maria.papadopoulou@athenarc.gr',
  userdelegate: null,
  resource: 'job/atmo-flud-5231',
  action: 'run-simulation',
  comment: 'Ελληνικά ✓',
  starttime: Date.parse('2021-03-01T07:12:40Z'),
  endtime: Date.parse('2021-03-01T08:00:12Z'),
  duration_ms: 2_852_000,
  value: 2_852_000,
  signed_value: 2_852_000,
  measure: 'time',
  unit: 'ms',
  type: '+',
  source: { input: 'filestream', host: 'sp-01.example.org', path: '/var/log/neanias/accounting.json', offset: 812, client: null, tags: ['accounting'] },
  ...fields,
});

const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

test('a record encodes and decodes unchanged', () => {
  const value = usage();
  const bytes = codec.encode(value);
  assert.ok(Buffer.isBuffer(bytes) && bytes.length > 0);
  assert.deepEqual(plain(codec.decode(bytes)), plain(value));
  assert.deepEqual(plain(codec.decode(codec.encode(usage({ starttime: null, endtime: null, duration_ms: null, comment: null, unit: null })))), plain(usage({ starttime: null, endtime: null, duration_ms: null, comment: null, unit: null })));
});

test('one codec per topic, named, with headers carrying the schema name and fingerprint', () => {
  assert.equal(domainCodec('accounting.usage'), codec);
  assert.equal(codec.topic, 'accounting.usage');
  assert.equal(codec.schemaName, 'tally.accounting.Usage');
  assert.match(codec.fingerprint, /^[0-9a-f]{64}$/);
  assert.deepEqual(codec.headers, { 'tally-schema': 'tally.accounting.Usage', 'tally-schema-fingerprint': codec.fingerprint });
});

test('the fingerprint is of the parsing canonical form: docs and layout do not change it, a field does', () => {
  const schema = JSON.parse(schemaText) as { doc?: string; fields: { name: string; doc?: string; type: unknown }[] };
  const reworded = { ...schema, doc: 'another wording', fields: schema.fields.map((f) => ({ ...f, doc: `${f.name}!` })) };
  assert.equal(avro.Type.forSchema(reworded as avro.Schema).fingerprint('sha256').toString('hex'), codec.fingerprint);
  assert.equal(avro.Type.forSchema(JSON.parse(JSON.stringify(schema, null, 8)) as avro.Schema).fingerprint('sha256').toString('hex'), codec.fingerprint);
  const changed = { ...schema, fields: schema.fields.map((f) => (f.name === 'value' ? { ...f, type: 'float' } : f)) };
  assert.notEqual(avro.Type.forSchema(changed as avro.Schema).fingerprint('sha256').toString('hex'), codec.fingerprint);
});

test('toJsonDocument writes timestamp-millis as ISO 8601 and leaves nulls out', () => {
  assert.deepEqual(codec.timestampPaths, [['timestamp'], ['starttime'], ['endtime']]);
  const value = usage({ endtime: null, duration_ms: null });
  const document = toJsonDocument(codec, codec.decode(codec.encode(value)));
  assert.equal(document.timestamp, '2021-03-01T08:00:13.123Z');
  assert.equal(document.starttime, '2021-03-01T07:12:40.000Z');
  assert.equal('endtime' in document, false);
  assert.equal('userdelegate' in document, false);
  assert.equal('client' in (document.source as object), false);
  assert.deepEqual((document.source as { tags: string[] }).tags, ['accounting']);
  assert.equal(value.timestamp, Date.parse('2021-03-01T08:00:13.123Z'), 'the record itself is not changed');
});

test('a value that does not fit the schema is RECORD_UNRENDERABLE, naming the field', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [usage({ value: '5,1' }), /value: "5,1" does not fit/],
    [usage({ timestamp: '2021-03-01T08:00:00Z' }), /timestamp: /],
    [usage({ timestamp: 1.5 }), /timestamp: 1.5/],
    [usage({ serviceid: undefined }), /serviceid/],
    [usage({ source: { input: 'stdin', offset: -0.5, tags: [] } }), /source\.offset/],
    [usage({ source: { input: 'stdin', tags: ['ok', 3] } }), /source\.tags/],
  ];
  for (const [value, problem] of cases) {
    assert.throws(
      () => codec.encode(value),
      (error: unknown) => isTallyError(error, 'RECORD_UNRENDERABLE') && /does not fit Avro schema tally\.accounting\.Usage/.test(error.message) && problem.test(error.message),
      problem.source,
    );
  }
});

test('bytes that are not a record are RECORD_UNPARSABLE', () => {
  assert.throws(() => codec.decode(Buffer.from([0xff, 0xff, 0xff])), (error: unknown) => isTallyError(error, 'RECORD_UNPARSABLE'));
  assert.throws(() => codec.decode(codec.encode(usage()).subarray(0, 10)), (error: unknown) => isTallyError(error, 'RECORD_UNPARSABLE'));
});

test('every domain schema starts with its string id: a bare Avro value (a non-empty id first) never starts with the wire format\'s magic byte 0, which is how dlq replay tells them apart', async () => {
  const { readdirSync } = await import('node:fs');
  const topics = readdirSync(schemaDir).filter((f) => f.endsWith('.avsc')).map((f) => f.slice(0, -'.avsc'.length));
  assert.ok(topics.length >= 8, `the domain schemas (${topics.join(', ')})`);
  for (const topic of topics) {
    const first = (JSON.parse(readFileSync(path.join(schemaDir, `${topic}.avsc`), 'utf8')) as { fields: { name: string; type: unknown }[] }).fields[0];
    assert.deepEqual([first?.name, first?.type], ['id', 'string'], `${topic}: the first field is id, a string`);
  }
});
