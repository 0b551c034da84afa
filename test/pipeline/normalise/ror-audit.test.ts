import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { domainCodec } from '../../../pipeline/avro.js';
import { buildEnvelope, type RawEnvelope } from '../../../pipeline/envelope.js';
import type { AuditEvent } from '../../../pipeline/normalise/common/audit-event.js';
import { rorAuditNormaliser } from '../../../pipeline/normalise/ror-audit.js';
import { parseOperationInformation } from '../../../pipeline/normalise/ror/operation-information.js';
import type { NormalisedRecord } from '../../../pipeline/normalise/types.js';
import type { RejectionReason } from '../../../pipeline/dlq.js';
import { projectRoot } from '../../../pipeline/paths.js';

/*
 * The lines follow the format of Fujitsu's ROR manual (shared/seeds/004_ae66fc7541a1ce33.txt,
 * "Operation Logs (Tenant Management, Accounting and System Condition)"): the column order, the
 * operation types and their operation information are the manual's; names, times and values are
 * invented, since the manual shows no whole line.
 */

const fixtureDir = path.join(projectRoot, 'test/fixtures/ror-audit');
const codec = domainCodec('audit.events');
const logDir = 'C:\\Fujitsu\\ROR\\SVROR\\Manager\\var\\log\\ctsec';
const host = 'ror-manager.example.jp';
const fixtureLines = (name: string) => readFileSync(path.join(fixtureDir, name), 'utf8').split('\n').filter((line) => line !== '');

function fromFile(message: string, name = 'ctsec_audit_a.log', offset = 0, extra: { inode?: string; fields?: Record<string, unknown>; dir?: string } = {}): RawEnvelope {
  const envelope = buildEnvelope({ message, inputType: 'filestream', path: `${extra.dir ?? logDir}\\${name}`, offset, ...(extra.fields ? { fields: extra.fields } : {}) });
  (envelope.log?.file as Record<string, unknown>).inode = extra.inode ?? '281474976710700';
  (envelope.log?.file as Record<string, unknown>).device_id = '2752417430';
  envelope.host = { name: host };
  return envelope;
}

function record(input: RawEnvelope | string): Omit<NormalisedRecord, 'value'> & { value: AuditEvent } {
  const result = rorAuditNormaliser.normalise(typeof input === 'string' ? fromFile(input) : input);
  assert.deepEqual(result.rejections, [], `expected a record, got ${JSON.stringify(result.rejections)}`);
  assert.equal(result.records.length, 1);
  return result.records[0] as unknown as Omit<NormalisedRecord, 'value'> & { value: AuditEvent };
}

const value = (input: RawEnvelope | string) => record(input).value;

function reasons(input: RawEnvelope | string): RejectionReason[] {
  const result = rorAuditNormaliser.normalise(typeof input === 'string' ? fromFile(input) : input);
  assert.deepEqual(result.records, [], 'expected a rejection');
  assert.equal(result.rejections.length, 1);
  return result.rejections[0]?.reasons ?? [];
}

const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

test('every valid fixture line, in files named like the six logs and their generations, becomes one audit event that Avro keeps unchanged', () => {
  const datasets = new Set<string>();
  let count = 0;
  for (const name of readdirSync(fixtureDir)) {
    if (statSync(path.join(fixtureDir, name)).isDirectory()) continue;
    let offset = 0;
    for (const line of fixtureLines(name)) {
      const normalised = record(fromFile(line, name, offset));
      assert.equal(normalised.topic, 'audit.events');
      assert.match(normalised.id, /^[0-9a-f]{32}$/);
      assert.equal(normalised.key, undefined, 'keyed by its id');
      assert.deepEqual(plain(codec.decode(codec.encode(normalised.value as unknown as Record<string, unknown>))), plain(normalised.value), line);
      datasets.add(normalised.value.event.dataset);
      offset += Buffer.byteLength(line) + 1;
      count += 1;
    }
  }
  assert.deepEqual([...datasets].sort(), ['ror.accounting_audit', 'ror.charging_audit', 'ror.cmdb_audit', 'ror.ctchg_audit', 'ror.ctsec_audit_a', 'ror.ctsec_audit_s']);
  assert.ok(count >= 20);
});

test('the file name gives the log\'s meaning: dataset and provider, for any generation and either path style', () => {
  const line = '2012-04-06 08:59:59.999,tenant_user07,tenantA,dispUsageStatus,,success';
  for (const [name, dir] of [['cmdb_audit.log', logDir], ['cmdb_audit.log.1', logDir], ['cmdb_audit.log.10', '/var/opt/FJSVctmg/log'], ['CMDB_AUDIT.LOG', logDir]] as const) {
    const v = value(fromFile(line, name, 0, { dir }));
    assert.deepEqual([v.event.dataset, v.event.provider, v.event.category, v.event.type], ['ror.cmdb_audit', 'console.system-conditions', ['web'], ['access']], name);
  }
  const expected: Record<string, string> = {
    ctsec_audit_a: 'console.tenants',
    ctsec_audit_s: 'console.temporary-accounts',
    ctchg_audit: 'accounting.cli',
    charging_audit: 'console.usage-charge',
    accounting_audit: 'accounting.api',
    cmdb_audit: 'console.system-conditions',
  };
  for (const [log, provider] of Object.entries(expected)) assert.equal(value(fromFile(line, `${log}.log.3`)).event.provider, provider);
});

test('without a ROR file name: fields.ror_log, else an operation type only one log writes, else ror.unknown', () => {
  const http = (message: string, fields?: Record<string, unknown>) => value(buildEnvelope({ message, inputType: 'http', ...(fields ? { fields } : {}) }));
  const line = '2012-04-06 08:59:59.999,tenant_user07,tenantA,dispUsageStatus,,success';
  assert.equal(http(line).event.dataset, 'ror.cmdb_audit', 'dispUsageStatus is cmdb_audit\'s alone');
  assert.equal(http(line.replace('dispUsageStatus', 'createUser')).event.dataset, 'ror.unknown', 'createUser is written by ctsec_audit_a and ctsec_audit_s');
  assert.equal(http(line.replace('dispUsageStatus', 'createUser'), { ror_log: 'ctsec_audit_s' }).event.dataset, 'ror.ctsec_audit_s');
  assert.deepEqual(http(line.replace('dispUsageStatus', 'createUser')).event.type, ['user', 'creation'], 'the operation is still understood');
  assert.equal(value(fromFile(line, 'other.log')).event.dataset, 'ror.cmdb_audit');
});

test('a createOrg line: details with commas, pipes, & and =, an unset value, globalpool as a list, the tenant as target', () => {
  const [line] = fixtureLines('ctsec_audit_a.log');
  const v = value(line!);
  assert.equal(new Date(v.timestamp).toISOString(), '2012-04-01T09:00:12.341Z');
  assert.deepEqual([v.event.action, v.event.category, v.event.type, v.event.outcome, v.event.reason], ['createOrg', ['iam'], ['group', 'creation'], 'success', null]);
  assert.deepEqual([v.user.id, v.project.name, v.service.name, v.host.name], ['infra_admin01', 'ror-infra', 'ror', host]);
  assert.deepEqual(v.target, { type: 'tenant', id: 'tenantA', name: 'R&D, Osaka | Lab' });
  assert.deepEqual(v.details, {
    orgid: 'tenantA',
    orgname: 'R&D, Osaka | Lab',
    cutoffdate: '10',
    accountingmail: 'billing@example.com',
    applicationprocess: 'workflow.policy=default|custom,workflow.subscribe=infra-tenant|infra|tenant,workflow.reconfigure=infra-tenant|infra|tenant ,workflow.unsubscribe=infra-tenant|infra|tenant',
    globalpool: '/AddressPool,/ImagePool',
  });
  assert.deepEqual(v.details_lists, { globalpool: ['/AddressPool', '/ImagePool'] });
  assert.equal(v.log.original, line);
  const unset = value(fixtureLines('ctsec_audit_a.log')[6]!);
  assert.deepEqual([unset.details.cutoffdate, unset.details.globalpool, unset.details_lists.globalpool], ['', '', []], '"""" is an unset value');
});

test('a formula-injection value is kept as data (the CSV export escapes it, not the normaliser)', () => {
  const v = value(fixtureLines('ctsec_audit_a.log')[2]!);
  assert.equal(v.details.mail, "=cmd|' /C calc'!A0");
  assert.deepEqual(v.target, { type: 'user', id: 'user02', name: "=cmd|' /C calc'!A0" });
});

test('operations by log: targets, categories and types as the seed\'s operation table says', () => {
  const first = (name: string, index = 0) => value(fromFile(fixtureLines(name)[index]!, name));
  assert.deepEqual([first('ctsec_audit_a.log', 3).event.type, first('ctsec_audit_a.log', 3).details.oldorgid, first('ctsec_audit_a.log', 3).event.outcome], [['user', 'change'], 'tenantB', 'failure']);
  assert.deepEqual(first('ctsec_audit_a.log', 7).target, { type: 'user', id: null, name: 'newcomer@example.com' });
  const temporary = first('ctsec_audit_s.log');
  assert.deepEqual([temporary.user.id, temporary.target.id, new Date(temporary.timestamp).toISOString()], [null, 'guest01', '2012-04-01T23:30:00.125Z'], 'no user ID: a self-registration');
  assert.deepEqual([first('ctchg_audit.log').event.category, first('ctchg_audit.log').event.type, first('ctchg_audit.log').details], [['configuration'], ['change'], { use: 'yes', time: '02:00', type: 'daily', day: '' }]);
  assert.deepEqual(first('ctchg_audit.log', 2).event.type, ['deletion']);
  assert.deepEqual([first('ctchg_audit.log', 4).details, first('ctchg_audit.log', 4).event.outcome], [{}, 'failure'], 'None. is no information');
  const download = first('charging_audit.log', 1);
  assert.deepEqual([download.event.category, download.target], [['file'], { type: 'file', id: null, name: 'LplatformChargeList|DetailCharge|TenantChargeList|LplatformChargeListByTenant' }]);
  const usage = first('accounting_audit.log', 1);
  assert.deepEqual([usage.event.type, usage.target, usage.details.tenantdeletedate], [['creation'], { type: 'l-platform', id: 'lplatform-0002', name: 'batch & reports' }, '2012-04-01T00:00:00.000+0900']);
  assert.deepEqual(value(fromFile('2012-04-06 08:59:59.999,u,t,purgeOldRecords,,success', 'ctchg_audit.log')).event.type, ['access'], 'an unknown operation type is read from its verb, in its log\'s category');
  assert.deepEqual(value(fromFile('2012-04-06 08:59:59.999,u,t,removeTenantAlias,,success', 'ctsec_audit_a.log')).event.type, ['deletion']);
});

test('operation results: success, failure, and anything else kept as the reason', () => {
  const outcome = (result: string) => {
    const v = value(`2012-04-01 09:00:00,u,t,listUser,,${result}`);
    return [v.event.outcome, v.event.reason];
  };
  assert.deepEqual(outcome('success'), ['success', null]);
  assert.deepEqual(outcome('SUCCESS'), ['success', null]);
  assert.deepEqual(outcome('failure'), ['failure', 'failure']);
  assert.deepEqual(outcome('error: user is in use'), ['failure', 'error: user is in use']);
  assert.deepEqual(outcome('"accepted, pending approval"'), ['unknown', 'accepted, pending approval']);
  assert.deepEqual(outcome(''), ['unknown', null]);
});

test('date-times: the seed\'s formats, with and without zone offsets; zone-less in the input\'s zone, else UTC', () => {
  const at = (when: string, fields?: Record<string, unknown>) => new Date(value(fromFile(`${when},u,t,listUser,,success`, 'ctsec_audit_a.log', 0, fields ? { fields } : {})).timestamp).toISOString();
  assert.equal(at('2012-04-01 09:00:12.341'), '2012-04-01T09:00:12.341Z');
  assert.equal(at('2012-04-01T00:00:00.000+0900'), '2012-03-31T15:00:00.000Z', 'the manual\'s yyyy-MM-ddTHH:mm:ss.SSSZ');
  assert.equal(at('2012-04-01 T00:00:00.000+0900'), '2012-03-31T15:00:00.000Z', 'the manual spells its pattern with a space before T');
  assert.equal(at('2012-04-04 13:20:41.200+09:00'), '2012-04-04T04:20:41.200Z');
  assert.equal(at('2012-04-05T00:10:00.000Z'), '2012-04-05T00:10:00.000Z');
  assert.equal(at('2012/04/03 02:00:01'), '2012-04-03T02:00:01.000Z');
  assert.equal(at('2012-04-01 09:00:12.341', { timezone: 'Asia/Tokyo' }), '2012-04-01T00:00:12.341Z');
  assert.equal(at('2012-04-01T00:00:00.000+0900', { timezone: 'Europe/Paris' }), '2012-03-31T15:00:00.000Z', 'the line\'s own offset wins');
  const [bad] = reasons(fromFile('2012-04-01 09:00:12.341,u,t,listUser,,success', 'ctsec_audit_a.log', 0, { fields: { timezone: 'JST-9x' } }));
  assert.equal(bad?.rule, 'timezone');
});

/** what each line of invalid/ctsec_audit_a.log breaks, in order */
const expectedRejections: { code: string; rule: string; path?: string; message: RegExp }[] = [
  { code: 'RECORD_INVALID', rule: 'columns', message: /^expected 6 fields \(operation date\/time, user ID, tenant name, operation type, operation information, operation result\), got 4/ },
  { code: 'RECORD_INVALID', rule: 'date-time', path: '/operation_datetime', message: /got "2012-04-31 09:05:47\.002"/ },
  { code: 'RECORD_INVALID', rule: 'date-time', path: '/operation_datetime', message: /must be a date-time such as 2012-04-01 10:15:32\.125 or 2012-04-01T10:15:32\.125\+0900, got "yesterday"/ },
  { code: 'RECORD_INVALID', rule: 'operation-type', path: '/operation_type', message: /must be a name such as createUser, got ""/ },
  { code: 'RECORD_INVALID', rule: 'operation-information', path: '/operation_information', message: /the value of userid opened at character 8 is never closed/ },
  { code: 'RECORD_INVALID', rule: 'operation-information', path: '/operation_information', message: /the value of userid holds a quote at character 15 \(a missing & between pairs\?\)/ },
  { code: 'RECORD_UNPARSABLE', rule: 'csv', message: /^the line is not valid CSV: Invalid Opening Quote/ },
];

test('each invalid fixture line is rejected for the rule it breaks, naming the column, the value and the origin', () => {
  const lines = fixtureLines('invalid/ctsec_audit_a.log');
  assert.equal(lines.length, expectedRejections.length);
  let offset = 0;
  lines.forEach((line, index) => {
    const expected = expectedRejections[index]!;
    const got = reasons(fromFile(line, 'ctsec_audit_a.log', offset));
    assert.equal(got.length, 1, `line ${index + 1}: ${JSON.stringify(got)}`);
    const [reason] = got as [RejectionReason];
    assert.equal(reason.code, expected.code, `line ${index + 1}`);
    assert.equal(reason.rule, expected.rule, `line ${index + 1}`);
    assert.equal(reason.path, expected.path, `line ${index + 1}`);
    assert.match(reason.message, expected.message, `line ${index + 1}: ${reason.message}`);
    assert.ok(reason.message.endsWith(`(line at byte ${offset} of ${logDir}\\ctsec_audit_a.log on host ${host})`), reason.message);
    offset += Buffer.byteLength(line) + 1;
  });
  assert.equal(reasons('')[0]?.rule, 'csv');
  assert.equal(reasons('a,b\nc,d')[0]?.message.startsWith('expected one CSV record, got 2'), true);
  const several = reasons('someday,u,t,bad type,"x=""1"" y",success');
  assert.deepEqual(several.map((r) => r.rule), ['date-time', 'operation-type', 'operation-information'], 'every reason at once');
});

test('ids: a replayed line keeps its id, a rotated generation too; the same text elsewhere gets another', () => {
  const line = fixtureLines('ctsec_audit_a.log')[1]!;
  const id = record(fromFile(line, 'ctsec_audit_a.log', 4096)).id;
  assert.equal(record(fromFile(line, 'ctsec_audit_a.log', 4096)).id, id);
  assert.equal(record(fromFile(line, 'ctsec_audit_a.log.1', 4096)).id, id, 'renamed by the rotation: same device and inode');
  assert.equal(record(fromFile(`${line}\r`, 'ctsec_audit_a.log', 4096)).id, id, 'a CRLF file');
  const others = [record(fromFile(line, 'ctsec_audit_a.log', 4097)).id, record(fromFile(line, 'ctsec_audit_a.log', 4096, { inode: '7' })).id, record(buildEnvelope({ message: line, inputType: 'http' })).id];
  assert.equal(new Set([id, ...others]).size, 4);
});

test('keys named like Object.prototype members stay plain keys', () => {
  const v = value('2012-04-01 09:00:00,u,t,createUser,"__proto__=""x""&constructor=""y""&userid=""u2""",success');
  assert.deepEqual(Object.keys(v.details), ['__proto__', 'constructor', 'userid']);
  assert.equal(({} as Record<string, unknown>).x, undefined);
  assert.equal(value('2012-04-01 09:00:00,u,t,constructor,,success').event.type.length, 1, 'an operation type named constructor is just unknown');
  codec.encode(v as unknown as Record<string, unknown>);
});

const valueText = fc.string({ maxLength: 30 }).map((s) => s.replace(/["\r\n]/g, ''));
const keyName = fc.stringMatching(/^[a-z_][a-z0-9_.]{0,12}$/);

test('property: key="value" pairs of any values without quotes read back as written, through the CSV file', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(keyName, fc.oneof(valueText, fc.constantFrom('a,b', 'x|y', 'R&D', 'k=v', '=cmd|x', ' &k', ''))), { selector: ([k]) => k, maxLength: 8 }), (pairs) => {
      const information = pairs.map(([k, v]) => `${k}="${v}"`).join('&');
      const parsed = parseOperationInformation(information);
      if (pairs.some(([, v]) => /&\s*[A-Za-z_][\w.-]*\s*=\s*$/.test(v))) return; // `…&k=` right before the closing quote reads as a new key: the format's own ambiguity
      assert.ok(parsed.ok, `${information}: ${parsed.ok ? '' : parsed.problem}`);
      assert.deepEqual(Object.entries(parsed.value.details), pairs);
      const line = `2012-04-01 09:00:00,u,t,createUser,"${information.replace(/"/g, '""')}",success`;
      assert.deepEqual(Object.entries(value(line).details), pairs);
    }),
    { numRuns: 1000 },
  );
});

test('any message gives one record or one rejection with reasons, never a throw', () => {
  const csvish = fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('2012-04-01 09:00:00', 'createUser', '"userid=""u"""', '""""', '"', 'success')), { maxLength: 8 }).map((fields) => fields.join(','));
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), csvish), fc.boolean(), (text, viaFile) => {
      const result = rorAuditNormaliser.normalise(viaFile ? fromFile(text, 'charging_audit.log.2', 77) : buildEnvelope({ message: text, inputType: 'http' }));
      assert.equal(result.records.length + result.rejections.length, 1);
      for (const rejection of result.rejections) for (const reason of rejection.reasons) assert.ok(reason.code.startsWith('RECORD_') && reason.message.length > 0);
      for (const normalised of result.records) codec.encode(normalised.value);
    }),
    { numRuns: 3000 },
  );
});
