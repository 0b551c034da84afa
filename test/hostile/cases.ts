import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { compressedFrame, jsonFrame, windowFrame } from '../../connectors/sources/beats/encode.js';
import type { ErrorCode } from '../../pipeline/errors.js';
import { projectRoot } from '../../pipeline/paths.js';

/**
 * The hostile-input table: every case is one input sent through one protocol into one stage
 * process, and the one outcome it must have. Every input carries its case's marker (`hx-<id>`) in
 * the bytes that reach the outcome (the dead letter's original, the record's Avro bytes, the
 * log line of a closed connection is found by the client's port instead).
 */
export type Via = 'kafka' | 'ship' | 'beats' | 'http' | 'apel-queue';
export type Kind = 'accounting' | 'apel-message' | 'caso-json' | 'ror-audit' | 'openstack-audit' | 'oslo-log';
export const kinds: readonly Kind[] = ['accounting', 'apel-message', 'caso-json', 'ror-audit', 'openstack-audit', 'oslo-log'];

export type Expect =
  /** a dead letter in dlq.<kind> written by `stage`, its first reason's code (and rule), holding the original bytes */
  | { dlq: { stage: 'transform' | 'ship' | 'beats' | 'apel-queue'; code: ErrorCode; rule?: string } }
  /** `count` records (default 1) on the domain topic carrying the marker; `dlq` more dead letters from the same input */
  | { records: { topic: string; count?: number; alsoDlq?: ErrorCode } }
  /** the server closed the connection and logged why (matched against the reason) */
  | { closed: RegExp }
  /** the HTTP source answered this status (and reason) and nothing reached Kafka */
  | { http: { status: number; reason?: RegExp } };

export type Input =
  /** kafka: a raw.<kind> value as Filebeat's output.kafka (or anything else) would write it */
  | { kafka: Buffer }
  /** ship: bytes appended to the kind's tailed file (each case ends its own lines) */
  | { file: Buffer }
  /** beats: bytes written on a fresh connection; `dribbleMs` sends them one byte at a time that far apart */
  | { beats: Buffer; dribbleMs?: number }
  /** http: a request to /ingest/<kind> (or `path`); `raw` writes these exact bytes on a socket instead */
  | { http: { body?: Buffer; headers?: Record<string, string>; method?: string; path?: string; raw?: Buffer; dribbleMs?: number } }
  /** apel-queue: the bytes of one dirq element */
  | { element: Buffer };

export interface HostileCase {
  id: string;
  marker: string;
  kind: Kind;
  via: Via;
  title: string;
  input: Input;
  expect: Expect;
}

/** ends in `~` so that no case's marker is a prefix of another's (`proto` and `proto-key`) */
const markerOf = (id: string): string => `hx-${id}~`;
const b = (text: string): Buffer => Buffer.from(text, 'utf8');

/** The Filebeat event shape around a message, as output.kafka writes it. */
export function filebeatEnvelope(message: string, marker: string): string {
  return JSON.stringify({ '@timestamp': '2024-05-01T10:00:00.000Z', '@metadata': { beat: 'filebeat', type: '_doc', version: '8.13.0' }, message, input: { type: 'filestream' }, log: { offset: 0, file: { path: `/var/log/${marker}.log` } }, host: { name: 'hostile' }, agent: { type: 'filebeat', version: '8.13.0' }, fields: { hx: marker } });
}

// ---- valid inputs per kind, each carrying the marker in a string field ----

export function validAccounting(marker: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ timestamp: '2021-03-01T08:00:12Z', serviceid: 'neanias-atmo-flud', level: 'accounting', userid: marker, resource: 'job/atmo-flud-5231', action: 'run-simulation', value: 2852000, measure: 'time', type: '+', ...extra });
}
const casoFixture = JSON.parse(readFileSync(path.join(projectRoot, 'test/fixtures/caso-json/cloud.ndjson'), 'utf8').split('\n')[0] as string) as Record<string, unknown>;
/** The cASO fixture record as this marker's own VM (its UUID derived from the marker). */
export function validCaso(marker: string, extra: Record<string, unknown> = {}): string {
  const hex = createHash('sha256').update(marker).digest('hex');
  return JSON.stringify({ ...casoFixture, VMUUID: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`, MachineName: marker, ...extra });
}
export function validApelCloud(marker: string, fields: Record<string, string> = {}): string {
  const record: Record<string, string> = { VMUUID: `vm-${marker}`, SiteName: 'HOSTILE-SITE', MachineName: marker, LocalUserId: 'u1', LocalGroupId: 'g1', Status: 'started', StartTime: '1710750600', EndTime: '0', WallDuration: '3600', CpuDuration: '3600', CpuCount: '2', Memory: '2048', Disk: '20', CloudType: 'caso/5.2.2 (OpenStack)', CloudComputeService: 'HOSTILE-OpenStack', ...fields };
  return `APEL-cloud-message: v0.4\n${Object.entries(record).map(([k, v]) => `${k}: ${v}`).join('\n')}\n`;
}
export function validRor(marker: string, information = 'userid=""user02""&mail=""user02@example.com""'): string {
  return `2012-04-01 09:05:47.002,${marker},tenantA,createUser,"${information}",success`;
}
export function validNovaAudit(marker: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ context: { action: 'run_instances', project: 'acme-research', remote_address: '203.0.113.7', request_id: 'req-3e4fa169-80ec-4635-8a7e-b60c16eddbcb', roles: ['member'], user: marker }, host: 'api-01', level: 'AUDIT', message: 'Starting instance', service: 'nova-api', timestamp: '2011-02-03 10:11:12.345', ...extra });
}
export function validOslo(marker: string): string {
  return `2017-05-16 00:00:17.504 25746 INFO nova.osapi_compute.wsgi.server [req-c53a921a-16c7-422e-8c9d-c922a720d047 113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e - - -] ${marker} "GET /v2/servers HTTP/1.1" status: 200 len: 203 time: 0.25`;
}

export const validFor: Record<Kind, (marker: string) => string> = {
  accounting: (m) => validAccounting(m),
  'apel-message': (m) => validApelCloud(m),
  'caso-json': (m) => validCaso(m),
  'ror-audit': (m) => validRor(m),
  'openstack-audit': (m) => validNovaAudit(m),
  'oslo-log': (m) => validOslo(m),
};

export const domainTopicOf: Record<Kind, string> = {
  accounting: 'accounting.usage',
  'apel-message': 'cloud.vm',
  'caso-json': 'cloud.vm',
  'ror-audit': 'audit.events',
  'openstack-audit': 'audit.events',
  'oslo-log': 'ops.logs',
};

// ---- generic hostile messages, through raw.<kind> for every kind ----

interface GenericPayload {
  name: string;
  title: string;
  message: (marker: string) => string;
  /** the outcome for each kind: a dead-letter code (the transform's) or 'record' */
  outcome: Record<Kind, ErrorCode | 'record'>;
}

const all = (code: ErrorCode, overrides: Partial<Record<Kind, ErrorCode | 'record'>> = {}): Record<Kind, ErrorCode | 'record'> => ({ accounting: code, 'apel-message': code, 'caso-json': code, 'ror-audit': code, 'openstack-audit': code, 'oslo-log': code, ...overrides });

const nest = (open: string, close: string, depth: number, inner: string): string => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

const genericPayloads: GenericPayload[] = [
  { name: 'truncated-json', title: 'JSON cut off mid-string', message: (m) => `{"hx":"${m}","timestamp":"2021-03-01T08:00:12Z","serviceid":"neanias`, outcome: all('RECORD_UNPARSABLE') },
  { name: 'truncated-object', title: 'JSON cut off after a key', message: (m) => `{"hx":"${m}","a":`, outcome: all('RECORD_UNPARSABLE') },
  { name: 'malformed-json', title: 'JavaScript, not JSON (unquoted keys, single quotes)', message: (m) => `{hx: '${m}', level: 'accounting'}`, outcome: all('RECORD_UNPARSABLE', { 'ror-audit': 'RECORD_INVALID' }) },
  { name: 'trailing-garbage', title: 'a JSON object followed by garbage', message: (m) => `{"hx":"${m}"} trailing`, outcome: all('RECORD_UNPARSABLE') },
  { name: 'deep-array', title: 'an array nested 100 000 deep', message: (m) => nest('[', ']', 100_000, `"${m}"`), outcome: all('RECORD_INVALID', { 'apel-message': 'RECORD_UNPARSABLE', 'ror-audit': 'RECORD_UNPARSABLE', 'oslo-log': 'RECORD_UNPARSABLE' }) },
  { name: 'deep-object', title: 'an object nested 20 000 deep', message: (m) => nest('{"a":', '}', 20_000, `"${m}"`), outcome: all('RECORD_INVALID', { 'apel-message': 'RECORD_UNPARSABLE', 'ror-audit': 'RECORD_UNPARSABLE' }) },
  { name: 'proto-key', title: '`__proto__` key with an object value', message: (m) => `{"__proto__":{"polluted":"${m}","isAdmin":true},"hx":"${m}"}`, outcome: all('RECORD_INVALID', { 'apel-message': 'RECORD_UNPARSABLE', 'ror-audit': 'RECORD_UNPARSABLE' }) },
  { name: 'constructor-key', title: '`constructor.prototype` key', message: (m) => `{"constructor":{"prototype":{"polluted":"${m}"}},"hx":"${m}"}`, outcome: all('RECORD_INVALID', { 'apel-message': 'RECORD_UNPARSABLE', 'ror-audit': 'RECORD_UNPARSABLE' }) },
  { name: 'infinite-number', title: '1e309 (Infinity after JSON.parse)', message: (m) => `{"hx":"${m}","value":1e309,"CpuCount":-1e309}`, outcome: all('RECORD_INVALID', { 'apel-message': 'RECORD_UNPARSABLE', 'ror-audit': 'RECORD_UNPARSABLE' }) },
  { name: 'nul-bytes', title: 'NUL bytes in the text', message: (m) => `${m}\u0000\u0000{"a":1}\u0000`, outcome: all('RECORD_UNPARSABLE') },
  { name: 'bom-object', title: 'a BOM before a JSON object of no known shape', message: (m) => `\uFEFF{"hx":"${m}"}`, outcome: all('RECORD_INVALID', { accounting: 'RECORD_UNPARSABLE', 'apel-message': 'RECORD_UNPARSABLE', 'ror-audit': 'RECORD_UNPARSABLE', 'oslo-log': 'RECORD_UNPARSABLE' }) },
  { name: 'lone-surrogate', title: 'a lone UTF-16 surrogate escaped in JSON', message: (m) => `{"hx":"${m}","a":"\\ud800"}`, outcome: all('RECORD_INVALID', { 'apel-message': 'RECORD_UNPARSABLE', 'ror-audit': 'RECORD_UNPARSABLE' }) },
  { name: 'empty', title: 'an empty message (the marker is in the envelope)', message: () => '', outcome: all('RECORD_UNPARSABLE') },
  { name: 'whitespace', title: 'only whitespace', message: () => ' \t \r ', outcome: all('RECORD_UNPARSABLE') },
  { name: 'json-array', title: 'a JSON array of strings', message: (m) => `["${m}"]`, outcome: all('RECORD_INVALID', { 'apel-message': 'RECORD_UNPARSABLE', 'ror-audit': 'RECORD_UNPARSABLE', 'oslo-log': 'RECORD_UNPARSABLE' }) },
  { name: 'json-null', title: 'JSON null', message: () => 'null', outcome: all('RECORD_INVALID', { 'apel-message': 'RECORD_UNPARSABLE', 'openstack-audit': 'RECORD_UNPARSABLE', 'oslo-log': 'RECORD_UNPARSABLE' }) },
  { name: 'json-string', title: 'a JSON string', message: (m) => `"${m}"`, outcome: all('RECORD_INVALID', { 'apel-message': 'RECORD_UNPARSABLE', 'openstack-audit': 'RECORD_UNPARSABLE', 'oslo-log': 'RECORD_UNPARSABLE' }) },
  { name: 'many-keys', title: 'an object of 20 000 keys', message: (m) => `{"hx":"${m}",${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`, outcome: all('RECORD_INVALID', { 'apel-message': 'RECORD_UNPARSABLE', 'ror-audit': 'RECORD_UNPARSABLE' }) },
  { name: 'control-chars', title: 'ANSI escapes, BEL and DEL', message: (m) => `\u001b[31m${m}\u0007\u007f\u001b[0m`, outcome: all('RECORD_UNPARSABLE', { 'ror-audit': 'RECORD_INVALID' }) },
  { name: 'xml-entity', title: 'XML with an external entity (XXE) and a billion-laughs entity', message: (m) => `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd"><!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;&l;&l;&l;&l;&l;&l;&l;">]><sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord"><sr:StorageUsageRecord><sr:Site>${m}&e;&l2;</sr:Site></sr:StorageUsageRecord></sr:StorageUsageRecords>`, outcome: all('RECORD_UNPARSABLE') },
];

// ---- kind-specific hostile messages through raw.<kind> ----

interface SpecificPayload {
  kind: Kind;
  name: string;
  title: string;
  message: (marker: string) => string;
  expect: Expect;
}

const dlq = (code: ErrorCode, rule?: string): Expect => ({ dlq: { stage: 'transform', code, ...(rule ? { rule } : {}) } });
const records = (topic: string, count = 1, alsoDlq?: ErrorCode): Expect => ({ records: { topic, count, ...(alsoDlq ? { alsoDlq } : {}) } });

const specificPayloads: SpecificPayload[] = [
  { kind: 'accounting', name: 'valid', title: 'a valid line (control)', message: (m) => validAccounting(m), expect: records('accounting.usage') },
  { kind: 'accounting', name: 'proto-in-valid', title: 'a valid line with a `__proto__` key: taken, no pollution', message: (m) => validAccounting(m).replace('{', '{"__proto__":{"level":"x","polluted":true},'), expect: records('accounting.usage') },
  { kind: 'accounting', name: 'constructor-in-valid', title: 'a valid line with a `constructor` key', message: (m) => validAccounting(m).replace('{', '{"constructor":{"prototype":{"polluted":true}},'), expect: records('accounting.usage') },
  { kind: 'accounting', name: 'value-1e309', title: 'value 1e309', message: (m) => validAccounting(m).replace('"value":2852000', '"value":1e309'), expect: dlq('RECORD_INVALID', 'finite') },
  { kind: 'accounting', name: 'value--1e309', title: 'value -1e309', message: (m) => validAccounting(m).replace('"value":2852000', '"value":-1e309'), expect: dlq('RECORD_INVALID', 'finite') },
  { kind: 'accounting', name: 'date-beyond-js', title: 'timestamp +275760-09-13T00:00:00.001Z (past the JS Date range)', message: (m) => validAccounting(m, { timestamp: '+275760-09-13T00:00:00.001Z' }), expect: dlq('RECORD_INVALID', 'date-time') },
  { kind: 'accounting', name: 'date-zero', title: 'timestamp 0000-00-00T00:00:00Z', message: (m) => validAccounting(m, { timestamp: '0000-00-00T00:00:00Z' }), expect: dlq('RECORD_INVALID', 'date-time') },
  { kind: 'accounting', name: 'date-month-13', title: 'timestamp in month 13', message: (m) => validAccounting(m, { timestamp: '2021-13-01T00:00:00Z' }), expect: dlq('RECORD_INVALID', 'date-time') },
  { kind: 'accounting', name: 'end-before-start', title: 'endtime before starttime', message: (m) => validAccounting(m, { starttime: '2021-03-01T08:00:00Z', endtime: '2021-03-01T07:00:00Z' }), expect: dlq('RECORD_INVALID', 'endtime-not-before-starttime') },
  { kind: 'accounting', name: 'formula-comment', title: 'a formula `=cmd|...` in the comment: a valid record (CSV exports neutralise it)', message: (m) => validAccounting(m, { comment: "=cmd|' /C calc'!A0" }), expect: records('accounting.usage') },
  { kind: 'accounting', name: 'nul-in-field', title: 'an escaped NUL inside a string field: valid JSON, taken', message: (m) => validAccounting(m, { comment: 'a\u0000b' }), expect: records('accounting.usage') },
  { kind: 'accounting', name: 'big-comment', title: 'a 600 KB comment', message: (m) => validAccounting(m, { comment: 'c'.repeat(600_000) }), expect: records('accounting.usage') },
  { kind: 'caso-json', name: 'valid', title: 'a valid cASO record (control)', message: (m) => validCaso(m), expect: records('cloud.vm') },
  { kind: 'caso-json', name: 'proto', title: 'a cASO record with a `__proto__` key', message: (m) => validCaso(m).replace('{', '{"__proto__":{"polluted":true},'), expect: dlq('RECORD_INVALID', 'unknown-field') },
  { kind: 'caso-json', name: 'cpu-1e309', title: 'CpuCount 1e309', message: (m) => validCaso(m, { CpuCount: 'INF' }).replace('"CpuCount":"INF"', '"CpuCount":1e309'), expect: dlq('RECORD_INVALID', 'type') },
  { kind: 'caso-json', name: 'start-out-of-range', title: 'StartTime beyond the JS Date range', message: (m) => validCaso(m, { StartTime: '+275760-09-13T00:00:00.001Z' }), expect: dlq('RECORD_INVALID', 'type') },
  { kind: 'caso-json', name: 'empty-array', title: 'an empty JSON array', message: () => '[]', expect: dlq('RECORD_INVALID', 'no-records') },
  { kind: 'caso-json', name: 'array-of-200', title: 'an array of 200 records in one message', message: (m) => `[${Array.from({ length: 200 }, (_, i) => validCaso(`${m}-${i}`)).join(',')}]`, expect: records('cloud.vm', 200) },
  { kind: 'apel-message', name: 'valid', title: 'a valid cloud v0.4 message (control)', message: (m) => validApelCloud(m), expect: records('cloud.vm') },
  { kind: 'apel-message', name: 'header-only', title: 'a header without a record', message: () => 'APEL-cloud-message: v0.4\n', expect: dlq('RECORD_INVALID', 'no-records') },
  { kind: 'apel-message', name: 'many-separators', title: '50 000 empty records (`%%` lines)', message: () => `APEL-cloud-message: v0.4\n${'%%\n'.repeat(50_000)}`, expect: dlq('RECORD_INVALID', 'no-records') },
  { kind: 'apel-message', name: 'cpu-1e309', title: 'CpuCount: 1e309', message: (m) => validApelCloud(m, { CpuCount: '1e309' }), expect: dlq('RECORD_INVALID', 'type') },
  { kind: 'apel-message', name: 'start-out-of-range', title: 'StartTime: 99999999999999 (year 5 million)', message: (m) => validApelCloud(m, { StartTime: '99999999999999' }), expect: dlq('RECORD_INVALID', 'maximum') },
  { kind: 'apel-message', name: 'proto-field', title: 'a `__proto__:` and a `constructor:` field', message: (m) => validApelCloud(m).replace('SiteName:', '__proto__: x\nconstructor: y\nSiteName:'), expect: dlq('RECORD_INVALID', 'unknown-field') },
  { kind: 'apel-message', name: 'deep-xml', title: 'StAR XML nested 30 000 deep', message: (m) => `<sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord"><!-- ${m} -->${nest('<sr:x>', '</sr:x>', 30_000, '')}</sr:StorageUsageRecords>`, expect: dlq('RECORD_UNPARSABLE') },
  { kind: 'apel-message', name: 'ip-empty', title: 'a public IP message with no UsageRecords', message: (m) => `{"Type": "APEL Public IP message", "Version": "0.2", "UsageRecords": [], "hx": "${m}"}`, expect: dlq('RECORD_INVALID', 'no-records') },
  { kind: 'ror-audit', name: 'valid', title: 'a valid line (control)', message: (m) => validRor(m), expect: records('audit.events') },
  { kind: 'ror-audit', name: 'formula', title: "formula injection `=cmd|' /C calc'!A0` in a value: a valid record", message: (m) => validRor(m, 'userid=""user02""&mail=""=cmd|\' /C calc\'!A0""'), expect: records('audit.events') },
  { kind: 'ror-audit', name: 'formula-plus', title: 'values starting with + - @', message: (m) => validRor(m, 'userid=""+1+1""&mail=""@SUM(1)""&x=""-2+3""'), expect: records('audit.events') },
  { kind: 'ror-audit', name: 'unbalanced-quote', title: 'an unbalanced quote', message: (m) => `2012-04-01 09:05:47.002,${m},tenantA,createUser,"userid=""user02,success`, expect: dlq('RECORD_UNPARSABLE', 'csv') },
  { kind: 'ror-audit', name: 'embedded-newline', title: 'a quoted field with an embedded newline: valid CSV, not key="value" pairs', message: (m) => `2012-04-01 09:05:47.002,${m},tenantA,createUser,"a\nb",success`, expect: dlq('RECORD_INVALID', 'operation-information') },
  { kind: 'ror-audit', name: 'columns-5000', title: '5 000 columns', message: (m) => `${validRor(m)}${',x'.repeat(5000)}`, expect: dlq('RECORD_INVALID', 'columns') },
  { kind: 'ror-audit', name: 'feb-30', title: 'operation on 30 February', message: (m) => validRor(m).replace('2012-04-01', '2012-02-30'), expect: dlq('RECORD_INVALID', 'date-time') },
  { kind: 'ror-audit', name: 'year-99999', title: 'year 99999', message: (m) => validRor(m).replace('2012-04-01', '99999-04-01'), expect: dlq('RECORD_INVALID', 'date-time') },
  { kind: 'ror-audit', name: 'proto-param', title: 'a `__proto__=` operation parameter', message: (m) => validRor(m, '__proto__=""x""&constructor=""y""'), expect: records('audit.events') },
  { kind: 'openstack-audit', name: 'valid', title: 'a valid Nova audit line (control)', message: (m) => validNovaAudit(m), expect: records('audit.events') },
  { kind: 'openstack-audit', name: 'proto-in-context', title: 'a `__proto__` key inside the context', message: (m) => validNovaAudit(m).replace('"context":{', '"context":{"__proto__":{"polluted":true},'), expect: records('audit.events') },
  { kind: 'openstack-audit', name: 'date-out-of-range', title: 'timestamp in year 99999', message: (m) => validNovaAudit(m, { timestamp: '99999-01-01 00:00:00' }), expect: dlq('RECORD_INVALID', 'date-time') },
  { kind: 'oslo-log', name: 'valid', title: 'a valid text line (control)', message: (m) => validOslo(m), expect: records('ops.logs') },
  { kind: 'oslo-log', name: 'month-13', title: 'a text line dated month 13', message: (m) => validOslo(m).replace('2017-05-16', '2017-13-45'), expect: dlq('RECORD_INVALID', 'date-time') },
  { kind: 'oslo-log', name: 'ansi-in-message', title: 'NUL, ANSI escapes in a valid line: kept as text', message: (m) => `${validOslo(m)}\u0000\u001b[31m`, expect: records('ops.logs') },
];

// ---- file-tail: bytes appended to the tailed files ----

const line = (text: string | Buffer): Buffer => Buffer.concat([Buffer.isBuffer(text) ? text : b(text), b('\n')]);

interface FileCase {
  kind: Kind;
  name: string;
  title: string;
  bytes: (marker: string) => Buffer;
  expect: Expect;
}

/** kinds whose inputs are one line each (an APEL cloud message spans lines) */
const lineKinds: Kind[] = kinds.filter((kind) => kind !== 'apel-message');

const fileCases: FileCase[] = [
  ...lineKinds.map((kind): FileCase => ({ kind, name: 'valid', title: `a valid ${kind} line (control)`, bytes: (m) => line(validFor[kind](m)), expect: records(domainTopicOf[kind]) })),
  ...(Object.keys(validFor) as Kind[]).map((kind): FileCase => ({ kind, name: 'line-10mb', title: 'a 10 MB line: never buffered whole, its head dead-lettered by ship', bytes: (m) => line(`${m} ${'x'.repeat(10 * 1024 * 1024)}`), expect: { dlq: { stage: 'ship', code: 'RECORD_TOO_LARGE' } } })),
  ...(Object.keys(validFor) as Kind[]).map((kind): FileCase => ({ kind, name: 'invalid-utf8', title: 'a line of invalid UTF-8 (0xff 0xfe, an overlong NUL, a lone continuation byte)', bytes: (m) => line(Buffer.concat([b(m), Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0x80])])), expect: { dlq: { stage: 'ship', code: 'RECORD_UNPARSABLE' } } })),
  ...lineKinds.map((kind): FileCase => ({ kind, name: 'crlf', title: 'a valid line ending in CRLF', bytes: (m) => b(`${validFor[kind](m)}\r\n`), expect: records(domainTopicOf[kind]) })),
  { kind: 'apel-message', name: 'message-as-lines', title: 'an APEL message tailed from a file: each line is an input of its own, refused (messages come whole through tally apel-queue)', bytes: (m) => b(validApelCloud(m).replace(`MachineName: ${m}\n`, '').replace('APEL-cloud-message: v0.4\n', `APEL-cloud-message: v0.4\nMachineName: ${m}\n`)), expect: dlq('RECORD_UNPARSABLE') },
  { kind: 'apel-message', name: 'one-line-json', title: 'a one-line public IP message with no record', bytes: (m) => line(`{"Type": "APEL Public IP message", "Version": "0.2", "UsageRecords": [], "hx": "${m}"}`), expect: dlq('RECORD_INVALID', 'no-records') },
  { kind: 'accounting', name: 'nul-line', title: 'raw NUL bytes in a line (a sparse file after copytruncate)', bytes: (m) => line(Buffer.concat([Buffer.alloc(64), b(`{"hx":"${m}"}`)])), expect: dlq('RECORD_UNPARSABLE') },
  { kind: 'accounting', name: 'mid-file-bom', title: 'a BOM in the middle of the file', bytes: (m) => line(`\uFEFF${validAccounting(m)}`), expect: dlq('RECORD_UNPARSABLE') },
  { kind: 'ror-audit', name: 'formula', title: 'a formula-injection value in a ROR line: a valid record', bytes: (m) => line(validRor(m, 'userid=""user02""&mail=""=cmd|\' /C calc\'!A0""')), expect: records('audit.events') },
  { kind: 'ror-audit', name: 'embedded-newline', title: 'a quoted value with a newline: the file splits it, the first half is refused', bytes: (m) => b(`2012-04-01 09:05:47.002,${m},tenantA,createUser,"first\nsecond",success\n`), expect: dlq('RECORD_UNPARSABLE', 'csv') },
  { kind: 'ror-audit', name: 'unbalanced-quote', title: 'an unbalanced quote', bytes: (m) => line(`2012-04-01 09:05:47.002,${m},tenantA,createUser,"userid=""u,success`), expect: dlq('RECORD_UNPARSABLE', 'csv') },
  { kind: 'oslo-log', name: 'traceback-5000', title: 'a record followed by a 5 000-line traceback: joined up to the joiner limit, nothing unbounded', bytes: (m) => b(`${validOslo(m).replace(' INFO ', ' ERROR ')}\n${'Traceback (most recent call last):\n'}${'  File "/usr/lib/python3/x.py", line 1, in f\n'.repeat(5000)}ValueError: ${m}\n${validOslo(`${m}-after`)}\n`), expect: records('ops.logs', 2) },
  { kind: 'caso-json', name: 'truncated', title: 'a truncated cASO record', bytes: (m) => line(`{"MachineName":"${m}",${validCaso(m).slice(1, 100)}`), expect: dlq('RECORD_UNPARSABLE') },
  { kind: 'openstack-audit', name: 'deep', title: 'an audit line nested 50 000 deep', bytes: (m) => line(`{"hx":"${m}","payload":${nest('[', ']', 50_000, '1')}}`), expect: dlq('RECORD_INVALID') },
];

// ---- beats: lumberjack frames on a connection ----

const u32 = (n: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n >>> 0);
  return out;
};

export const event = (message: string, marker: string): string => JSON.stringify({ '@timestamp': '2024-05-01T10:00:00.000Z', message, input: { type: 'filestream' }, host: { name: 'hostile' }, agent: { type: 'filebeat', version: '8.13.0' }, fields: { hx: marker } });
const window = (...payloads: (string | Buffer)[]): Buffer => Buffer.concat([windowFrame(payloads.length), ...payloads.map((p, i) => jsonFrame(i + 1, p))]);

interface BeatsCase {
  name: string;
  title: string;
  bytes: (marker: string) => Buffer;
  dribbleMs?: number;
  expect: Expect;
}

const beatsDlq = (code: ErrorCode): Expect => ({ dlq: { stage: 'beats', code } });

const beatsCases: BeatsCase[] = [
  { name: 'valid', title: 'a valid window (control)', bytes: (m) => window(event(validAccounting(m), m)), expect: records('accounting.usage') },
  { name: 'valid-compressed', title: 'a valid compressed window (control)', bytes: (m) => Buffer.concat([windowFrame(1), compressedFrame(deflateSync(jsonFrame(1, event(validAccounting(m), m))))]), expect: records('accounting.usage') },
  { name: 'event-not-json', title: 'an event that is not JSON', bytes: (m) => window(`${m} not json`), expect: beatsDlq('RECORD_UNPARSABLE') },
  { name: 'event-truncated-json', title: 'an event of truncated JSON', bytes: (m) => window(`{"message":"${m}`), expect: beatsDlq('RECORD_UNPARSABLE') },
  { name: 'event-array', title: 'an event that is a JSON array', bytes: (m) => window(`["${m}"]`), expect: beatsDlq('RECORD_UNPARSABLE') },
  { name: 'event-invalid-utf8', title: 'an event of invalid UTF-8', bytes: (m) => window(Buffer.concat([b(`{"message":"${m}`), Buffer.from([0xff, 0xfe]), b('"}')])), expect: beatsDlq('RECORD_UNPARSABLE') },
  { name: 'event-too-large', title: 'an event over maxRecordBytes (300 KB)', bytes: (m) => window(event(`${m}${'y'.repeat(300_000)}`, m)), expect: beatsDlq('RECORD_TOO_LARGE') },
  { name: 'event-deep', title: 'an event with a field nested 100 000 deep (no envelope fields, so the whole event is the message): passed on, refused by the transform', bytes: (m) => window(`{"message":"${m}","x":${nest('[', ']', 100_000, '1')}}`), expect: dlq('RECORD_INVALID') },
  { name: 'event-proto', title: 'an event whose message is a valid line with `__proto__`', bytes: (m) => window(event(validAccounting(m).replace('{', '{"__proto__":{"polluted":true},'), m)), expect: records('accounting.usage') },
  { name: 'event-source-proto', title: 'an event whose `source` is `{"__proto__":...}`', bytes: (m) => window(`{"@timestamp":"2024-05-01T10:00:00.000Z","message":${JSON.stringify(validAccounting(m))},"source":{"__proto__":{"address":"evil"}}}`), expect: records('accounting.usage') },
  { name: 'event-bad-message', title: 'a well-formed event whose message is hostile (1e309)', bytes: (m) => window(event(validAccounting(m).replace('"value":2852000', '"value":1e309'), m)), expect: dlq('RECORD_INVALID', 'finite') },
  { name: 'good-and-bad', title: 'one good and one broken event in a window: the good one goes on', bytes: (m) => window(event(validAccounting(m), m), `${m} broken`), expect: records('accounting.usage', 1, 'RECORD_UNPARSABLE') },
  { name: 'json-length-4gb', title: 'a JSON frame claiming 4 GB', bytes: () => Buffer.concat([windowFrame(1), b('2J'), u32(1), u32(0xffffffff)]), expect: { closed: /JSON frame 1 of 4294967295 bytes is over the limit/ } },
  { name: 'window-2^32-1', title: 'a window of 2^32−1 events', bytes: () => windowFrame(0xffffffff), expect: { closed: /window of 4294967295 events is over the limit/ } },
  { name: 'compressed-4gb', title: 'a compressed frame claiming 4 GB', bytes: () => Buffer.concat([windowFrame(1), b('2C'), u32(0xffffffff)]), expect: { closed: /compressed frame of 4294967295 bytes is over the limit/ } },
  { name: 'zlib-bomb', title: 'a zlib bomb (128 MB of zeros in 128 KB)', bytes: () => Buffer.concat([windowFrame(1), compressedFrame(deflateSync(Buffer.alloc(128 * 1024 * 1024), { level: 9 }))]), expect: { closed: /inflates to more than the limit/ } },
  { name: 'zlib-invalid', title: 'a compressed frame that is not zlib', bytes: () => Buffer.concat([windowFrame(1), compressedFrame(b('this is not zlib at all'))]), expect: { closed: /not a valid zlib stream/ } },
  { name: 'zlib-truncated-content', title: 'a compressed frame whose content ends inside a frame', bytes: (m) => Buffer.concat([windowFrame(1), compressedFrame(deflateSync(jsonFrame(1, event(m, m)).subarray(0, 20)))]), expect: { closed: /ends inside a frame/ } },
  { name: 'nested-compression', title: 'compressed frames nested three deep', bytes: (m) => Buffer.concat([windowFrame(1), compressedFrame(deflateSync(compressedFrame(deflateSync(compressedFrame(deflateSync(jsonFrame(1, event(m, m))))))))]), expect: { closed: /nested more than 2 deep/ } },
  { name: 'bad-version', title: 'version byte 0x33', bytes: () => Buffer.concat([b('3W'), u32(1)]), expect: { closed: /unsupported protocol version byte 0x33/ } },
  { name: 'unknown-type', title: 'frame type Z', bytes: () => Buffer.concat([b('2Z'), u32(1)]), expect: { closed: /unknown frame type 0x5a/ } },
  { name: 'http-on-beats', title: 'an HTTP request on the lumberjack port', bytes: () => b('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), expect: { closed: /unsupported protocol version byte 0x47/ } },
  { name: 'data-outside-window', title: 'a JSON frame before any window frame', bytes: (m) => jsonFrame(1, event(m, m)), expect: { closed: /outside a window/ } },
  { name: 'window-in-window', title: 'a new window before the last one is complete', bytes: (m) => Buffer.concat([windowFrame(2), jsonFrame(1, event(m, m)), windowFrame(1)]), expect: { closed: /a new window began after 1 of the 2 events/ } },
  { name: 'zero-length-json', title: 'a JSON frame of length 0', bytes: () => Buffer.concat([windowFrame(1), b('2J'), u32(1), u32(0)]), expect: { closed: /has length 0/ } },
  { name: 'v1-pairs-2^32-1', title: 'a v1 data frame announcing 2^32−1 fields', bytes: () => Buffer.concat([b('1W'), u32(1), b('1D'), u32(1), u32(0xffffffff)]), expect: { closed: /announces 4294967295 fields/ } },
  { name: 'v1-key-length-4gb', title: 'a v1 data frame with a 4 GB key', bytes: () => Buffer.concat([b('1W'), u32(1), b('1D'), u32(1), u32(1), u32(0xffffffff)]), expect: { closed: /over the payload limit/ } },
  { name: 'mixed-versions', title: 'a v1 frame inside a v2 window', bytes: () => Buffer.concat([windowFrame(1), b('1D'), u32(1), u32(0)]), expect: { closed: /protocol version 1 inside a version 2 window/ } },
  { name: 'slow-loris', title: 'a window sent one byte every 400 ms (windowTimeoutMs 2 s)', bytes: (m) => window(event(validAccounting(m), m)), dribbleMs: 400, expect: { closed: /did not finish it within 2000 ms/ } },
  { name: 'idle', title: 'a connection that sends nothing (idleTimeoutMs 3 s)', bytes: () => Buffer.alloc(0), expect: { closed: /idle for 3000 ms/ } },
  { name: 'half-header', title: 'one byte of a frame header, then silence', bytes: () => b('2'), expect: { closed: /did not finish it within 2000 ms/ } },
];

// ---- http: requests to /ingest/<kind> ----

interface HttpCase {
  kind: Kind;
  name: string;
  title: string;
  request: (marker: string) => { body?: Buffer; headers?: Record<string, string>; method?: string; path?: string; raw?: Buffer; dribbleMs?: number };
  expect: Expect;
}

const refused = (status: number, reason?: RegExp): Expect => ({ http: { status, ...(reason ? { reason } : {}) } });

const httpCases: HttpCase[] = [
  ...(['accounting', 'caso-json', 'openstack-audit', 'oslo-log'] as Kind[]).map((kind): HttpCase => ({ kind, name: 'valid', title: `a valid ${kind} object (control)`, request: (m) => ({ body: b(kind === 'oslo-log' ? JSON.stringify({ asctime: '2017-05-16 00:00:17.504', levelname: 'INFO', name: 'nova.api', message: m, process: 1 }) : validFor[kind](m)) }), expect: records(domainTopicOf[kind]) })),
  ...kinds.map((kind): HttpCase => ({ kind, name: 'body-over-limit', title: 'a body over maxBodyBytes (1 MiB)', request: (m) => ({ body: b(`{"hx":"${m}","pad":"${'p'.repeat(1_200_000)}"}`) }), expect: refused(413, /over the limit/) })),
  ...kinds.map((kind): HttpCase => ({ kind, name: 'malformed', title: 'a body that is not JSON', request: (m) => ({ body: b(`{hx: ${m}`) }), expect: refused(400, /not valid JSON/) })),
  ...kinds.map((kind): HttpCase => ({ kind, name: 'proto-object', title: 'a `__proto__` object: accepted by http, judged by the transform', request: (m) => ({ body: b(`{"__proto__":{"polluted":true},"hx":"${m}"}`) }), expect: dlq(kind === 'apel-message' || kind === 'ror-audit' ? 'RECORD_UNPARSABLE' : 'RECORD_INVALID') })),
  { kind: 'accounting', name: 'declared-10gb', title: 'Content-Length of 10 GB', request: () => ({ raw: b('POST /ingest/accounting HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n{}') }), expect: refused(413) },
  { kind: 'accounting', name: 'headers-over-limit', title: 'headers over maxHeaderBytes (16 KiB)', request: () => ({ body: b('{}'), headers: { 'x-pad': 'h'.repeat(20_000) } }), expect: refused(431) },
  { kind: 'accounting', name: 'many-headers', title: '2 000 small headers', request: () => ({ raw: b(`POST /ingest/accounting HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 2000 }, (_, i) => `x-h${i}: vvvvvvvvvv`).join('\r\n')}\r\nContent-Length: 2\r\n\r\n{}`) }), expect: refused(431) },
  { kind: 'accounting', name: 'truncated', title: 'truncated JSON', request: (m) => ({ body: b(validAccounting(m).slice(0, 40)) }), expect: refused(400, /not valid JSON/) },
  { kind: 'accounting', name: 'invalid-utf8', title: 'a body of invalid UTF-8', request: (m) => ({ body: Buffer.concat([b(`{"hx":"${m}`), Buffer.from([0xff, 0xfe]), b('"}')]) }), expect: refused(400, /not valid UTF-8/) },
  { kind: 'accounting', name: 'empty', title: 'an empty body', request: () => ({ body: Buffer.alloc(0) }), expect: refused(400, /empty/) },
  { kind: 'accounting', name: 'scalar', title: 'a JSON number', request: () => ({ body: b('1e309') }), expect: refused(400, /got a number/) },
  { kind: 'accounting', name: 'array-with-scalar', title: 'an array with a non-object', request: (m) => ({ body: b(`[${validAccounting(m)}, 5]`) }), expect: refused(400, /element 2 of the array/) },
  { kind: 'accounting', name: 'ndjson-one-bad', title: 'NDJSON with one broken line: nothing accepted', request: (m) => ({ body: b(`${validAccounting(m)}\n{"broken":\n`), headers: { 'content-type': 'application/x-ndjson' } }), expect: refused(400, /line 2 is not valid JSON/) },
  { kind: 'accounting', name: 'unknown-kind', title: 'an unknown kind in the path', request: () => ({ body: b('{}'), path: '/ingest/__proto__' }), expect: refused(404) },
  { kind: 'accounting', name: 'get', title: 'GET instead of POST', request: () => ({ method: 'GET' }), expect: refused(405) },
  { kind: 'accounting', name: 'bom', title: 'a BOM before a valid object: dropped, accepted', request: (m) => ({ body: b(`\uFEFF${validAccounting(m)}`) }), expect: records('accounting.usage') },
  { kind: 'accounting', name: 'deep', title: 'an object nested 10 000 deep: accepted, refused by the transform', request: (m) => ({ body: b(`{"hx":"${m}","x":${nest('[', ']', 10_000, '1')}}`) }), expect: dlq('RECORD_INVALID') },
  { kind: 'accounting', name: 'value-1e309', title: 'a valid line with value 1e309', request: (m) => ({ body: b(validAccounting(m).replace('"value":2852000', '"value":1e309')) }), expect: dlq('RECORD_INVALID', 'finite') },
  { kind: 'ror-audit', name: 'csv-line', title: 'a CSV line (http takes JSON only)', request: (m) => ({ body: b(validRor(m)) }), expect: refused(400, /not valid JSON/) },
  { kind: 'caso-json', name: 'cpu-1e309', title: 'a cASO record with CpuCount 1e309', request: (m) => ({ body: b(validCaso(m, { CpuCount: 'INF' }).replace('"CpuCount":"INF"', '"CpuCount":1e309')) }), expect: dlq('RECORD_INVALID', 'type') },
  { kind: 'accounting', name: 'slow-headers', title: 'headers sent one byte every 200 ms (headersTimeoutMs 1.5 s)', request: (m) => ({ raw: b(`POST /ingest/accounting HTTP/1.1\r\nHost: ${m}\r\nContent-Length: 2\r\n\r\n{}`), dribbleMs: 200 }), expect: refused(408) },
  { kind: 'accounting', name: 'slow-body', title: 'a body sent one byte every 200 ms (requestTimeoutMs 3 s)', request: (m) => ({ raw: b(`POST /ingest/accounting HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n{"hx":"${m}","pad":"${'s'.repeat(150)}"}`), dribbleMs: 200 }), expect: refused(408) },
  { kind: 'accounting', name: 'garbage', title: 'bytes that are not HTTP', request: () => ({ raw: Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]) }), expect: refused(400) },
];

// ---- apel-queue: dirq elements ----

interface ElementCase {
  name: string;
  title: string;
  bytes: (marker: string) => Buffer;
  expect: Expect;
}

const elementCases: ElementCase[] = [
  { name: 'valid', title: 'a valid cloud message (control)', bytes: (m) => b(validApelCloud(m)), expect: records('cloud.vm') },
  { name: 'valid-two', title: 'a message of two records', bytes: (m) => b(`${validApelCloud(m)}%%\n${validApelCloud(`${m}-2`).replace('APEL-cloud-message: v0.4\n', '')}`), expect: records('cloud.vm', 2) },
  { name: 'invalid-utf8', title: 'an element of invalid UTF-8', bytes: (m) => Buffer.concat([b(`APEL-cloud-message: v0.4\nMachineName: ${m}`), Buffer.from([0xff, 0xfe, 0xfd])]), expect: { dlq: { stage: 'apel-queue', code: 'RECORD_UNPARSABLE' } } },
  { name: 'too-large', title: 'a 2 MB element (over maxRecordBytes): set aside, dead-lettered', bytes: (m) => b(`APEL-cloud-message: v0.4\nMachineName: ${m}\n${'Padding: x\n'.repeat(200_000)}`), expect: { dlq: { stage: 'apel-queue', code: 'RECORD_TOO_LARGE' } } },
  { name: 'header-only', title: 'a header without a record', bytes: (m) => b(`APEL-cloud-message: v0.4\n%%\n# ${m}\n`), expect: dlq('RECORD_UNPARSABLE') },
  { name: 'one-bad-record', title: 'one good record and one with CpuCount 1e309: the good one goes on', bytes: (m) => b(`${validApelCloud(m)}%%\n${validApelCloud(`${m}-bad`, { CpuCount: '1e309' }).replace('APEL-cloud-message: v0.4\n', '')}`), expect: records('cloud.vm', 1, 'RECORD_INVALID') },
  { name: 'xxe', title: 'StAR XML with an external entity', bytes: (m) => b(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord"><sr:StorageUsageRecord><sr:Site>${m}&e;</sr:Site></sr:StorageUsageRecord></sr:StorageUsageRecords>`), expect: dlq('RECORD_UNPARSABLE', 'xml') },
  { name: 'deep-xml', title: 'XML nested 30 000 deep', bytes: (m) => b(`<sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord"><!-- ${m} -->${nest('<sr:a>', '</sr:a>', 30_000, '')}</sr:StorageUsageRecords>`), expect: dlq('RECORD_UNPARSABLE') },
  { name: 'binary', title: 'random-looking ASCII', bytes: (m) => b(`${m}\u0001\u0002\u0003\u0004`), expect: dlq('RECORD_UNPARSABLE') },
  { name: 'bom', title: 'a BOM before a valid message', bytes: (m) => b(`\uFEFF${validApelCloud(m)}`), expect: records('cloud.vm') },
  { name: 'ip-proto', title: 'a public IP message with a `__proto__` key in a record', bytes: (m) => b(JSON.stringify({ Type: 'APEL Public IP message', Version: '0.2', UsageRecords: [{ MeasurementTime: 1710750600, SiteName: 'HOSTILE', CloudType: 'caso', CloudComputeService: 'svc', uuid: m, LocalGroup: 'g', LocalUser: 'u', IPVersion: 4, IPCount: 1, FQAN: '/vo' }] }).replace('"MeasurementTime"', '"__proto__":{"polluted":true},"MeasurementTime"')), expect: dlq('RECORD_INVALID', 'unknown-field') },
];

// ---- the table ----

export function buildCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (id: string, kind: Kind, via: Via, title: string, input: (marker: string) => Input, expect: Expect): void => {
    const marker = markerOf(id);
    cases.push({ id, marker, kind, via, title, input: input(marker), expect });
  };
  for (const kind of kinds) {
    for (const payload of genericPayloads) {
      const outcome = payload.outcome[kind];
      add(`kafka.${kind}.${payload.name}`, kind, 'kafka', payload.title, (m) => ({ kafka: b(filebeatEnvelope(payload.message(m), m)) }), outcome === 'record' ? records(domainTopicOf[kind]) : dlq(outcome));
    }
    add(`kafka.${kind}.invalid-utf8`, kind, 'kafka', 'a raw value of invalid UTF-8', (m) => ({ kafka: Buffer.concat([b(m), Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80])]) }), dlq('RECORD_UNPARSABLE', 'utf-8'));
    add(`kafka.${kind}.bare-valid`, kind, 'kafka', 'a valid input as a bare value, not an envelope', (m) => ({ kafka: b(validFor[kind](m)) }), records(domainTopicOf[kind]));
  }
  for (const p of specificPayloads) add(`kafka.${p.kind}.${p.name}`, p.kind, 'kafka', p.title, (m) => ({ kafka: b(filebeatEnvelope(p.message(m), m)) }), p.expect);
  for (const c of fileCases) add(`ship.${c.kind}.${c.name}`, c.kind, 'ship', c.title, (m) => ({ file: c.bytes(m) }), c.expect);
  for (const c of beatsCases) add(`beats.accounting.${c.name}`, 'accounting', 'beats', c.title, (m) => ({ beats: c.bytes(m), ...(c.dribbleMs ? { dribbleMs: c.dribbleMs } : {}) }), c.expect);
  for (const c of httpCases) add(`http.${c.kind}.${c.name}`, c.kind, 'http', c.title, (m) => ({ http: c.request(m) }), c.expect);
  for (const c of elementCases) add(`apel-queue.apel-message.${c.name}`, 'apel-message', 'apel-queue', c.title, (m) => ({ element: c.bytes(m) }), c.expect);
  return cases;
}
