import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { domainCodec } from '../../../pipeline/avro.js';
import { buildEnvelope, type RawEnvelope } from '../../../pipeline/envelope.js';
import type { AuditEvent } from '../../../pipeline/normalise/common/audit-event.js';
import { openstackAuditNormaliser } from '../../../pipeline/normalise/openstack-audit.js';
import type { NormalisedRecord } from '../../../pipeline/normalise/types.js';
import type { RejectionReason } from '../../../pipeline/dlq.js';
import { projectRoot } from '../../../pipeline/paths.js';

const fixtureDir = path.join(projectRoot, 'test/fixtures/openstack-audit');
const codec = domainCodec('audit.events');
const host = 'controller-01.example.org';
const fixtureLines = (name: string) => readFileSync(path.join(fixtureDir, name), 'utf8').split('\n').filter((line) => line !== '');

function fromFile(message: string, offset = 0, file = '/var/log/keystone/keystone.log', fields?: Record<string, unknown>): RawEnvelope {
  const envelope = buildEnvelope({ message, inputType: 'filestream', path: file, offset, ...(fields ? { fields } : {}) });
  envelope.host = { name: host };
  return envelope;
}

function record(input: RawEnvelope | string): Omit<NormalisedRecord, 'value'> & { value: AuditEvent } {
  const result = openstackAuditNormaliser.normalise(typeof input === 'string' ? fromFile(input) : input);
  assert.deepEqual(result.rejections, [], `expected a record, got ${JSON.stringify(result.rejections)}`);
  assert.equal(result.records.length, 1);
  return result.records[0] as unknown as Omit<NormalisedRecord, 'value'> & { value: AuditEvent };
}

const value = (input: RawEnvelope | string) => record(input).value;

function reasons(input: RawEnvelope | string): RejectionReason[] {
  const result = openstackAuditNormaliser.normalise(typeof input === 'string' ? fromFile(input) : input);
  assert.deepEqual(result.records, [], 'expected a rejection');
  assert.equal(result.rejections.length, 1);
  return result.rejections[0]?.reasons ?? [];
}

const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

// keystone.log lines as published in canonical/smoke-alerts references.md (Charmed OpenStack Yoga,
// 2025), with the stray closing brace of the document's copy removed
const [roleAssignment, authenticationFailure] = fixtureLines('keystone-notifications.ndjson') as [string, string];

test('Keystone CADF notifications from a real deployment: who, what, from where, and whether it worked', () => {
  const granted = value(roleAssignment);
  assert.equal(new Date(granted.timestamp).toISOString(), '2025-09-30T04:01:53.295Z', 'eventTime, not the envelope timestamp');
  assert.deepEqual([granted.event.dataset, granted.event.action, granted.event.category, granted.event.type, granted.event.outcome], ['openstack.identity', 'created.role_assignment', ['iam'], ['admin', 'creation'], 'success']);
  assert.deepEqual([granted.event.id, granted.event.provider, granted.event.severity], ['0d5683a5-2544-5eae-b25d-471003e72ae9', 'identity.juju-644baf-yoga-ceph-6', 'INFO']);
  assert.deepEqual([granted.user.id, granted.user.name, granted.project.id], ['18b9a79bb9d14fa595c67ee981f35158', 'admin', '1fcb9d1fbad0402197d275c63dc7df25']);
  assert.deepEqual([granted.source.ip, granted.user_agent, granted.transaction_id, granted.host.name, granted.service.name], ['10.149.54.84', 'python-keystoneclient', 'req-f7e044d7-546b-4eea-bccc-c4c2ebd4b7d4', 'juju-644baf-yoga-ceph-6', 'keystone']);
  assert.deepEqual([granted.details.role, granted.details.user, granted.details.project, granted.details.inherited_to_projects], ['a92a5e462003408c99ef427e404d6e51', '72a8d0505eaa478684dfc0da4767db2f', '1fcb9d1fbad0402197d275c63dc7df25', 'false']);

  const failed = value(authenticationFailure);
  assert.deepEqual([failed.event.action, failed.event.category, failed.event.type, failed.event.outcome], ['authenticate', ['authentication'], ['info'], 'failure']);
  assert.deepEqual([failed.user.name, failed.user_agent], ['admin', 'openstacksdk/0.61.0 keystoneauth1/4.4.0 python-requests/2.25.1 CPython/3.10.12']);
});

test('Keystone\'s documented notifications (openstack/keystone doc/source/admin/event_notifications.rst)', () => {
  const [, , projectCreated, authenticated, expired, roleAssignmentDoc] = fixtureLines('keystone-notifications.ndjson').map((line) => value(line));
  assert.deepEqual([projectCreated?.event.type, projectCreated?.target, projectCreated?.details.target_id], [['group', 'creation'], { type: 'data/security/project', id: '671da331c47d4e29bb6ea1d270154ec3', name: null }, 'openstack:1c2fc591-facb-4479-a327-520dade1ea15'], 'resource_info names the project created');
  assert.equal(new Date(projectCreated!.timestamp).toISOString(), '2014-02-14T01:20:47.932Z', '+00:00 offsets too');
  assert.deepEqual([authenticated?.event.type, authenticated?.event.outcome, authenticated?.host.name], [['start'], 'success', 'host1234']);
  assert.deepEqual([expired?.event.outcome, expired?.event.reason, expired?.http.status_code, expired?.details.reason_code], ['failure', 'The password is expired and needs to be reset for user: ed1ab0b40f284fb48fea9e25d0d157fc', null, '401'], 'a PCI-DSS reason is not HTTP: its words are the reason, its code a detail');
  assert.equal(roleAssignmentDoc?.details.group, 'c1e22dc67cbd469ea0e33bf428fe597a');
  const basic = value(fixtureLines('keystone-basic-notifications.ndjson')[0]!);
  assert.deepEqual([basic.event.action, basic.event.category, basic.event.type, basic.target.id, basic.event.outcome], ['identity.user.created', ['iam'], ['user', 'creation'], '671da331c47d4e29bb6ea1d270154ec3', null]);
});

test('keystonemiddleware audit events inside an oslo.log line: the resource from the request path, the status from the reason', () => {
  // generated with keystonemiddleware 10.1.0, pycadf 3.1.1 and oslo.messaging's log driver (shared/reference/openstack-audit-kibana.md §2.3); the request event derived as the reference describes it
  const [request, response] = fixtureLines('keystonemiddleware-audit.log').map((line) => record(fromFile(line, 0, '/var/log/nova/nova-api.log')));
  const done = response!.value;
  assert.deepEqual([done.event.dataset, done.event.action, done.event.category, done.event.type, done.event.outcome], ['openstack.api', 'update/os-stop', ['api'], ['change'], 'success']);
  assert.deepEqual(done.target, { type: 'service/compute/servers/server/action', id: '0a6f5c2e-4b1d-4e8f-9a3c-7d2e1f0b9c8a', name: 'nova' });
  assert.equal(done.details.target_id, '5d1e6f3a9b2c4d7e8f0a1b2c3d4e5f6a', 'CADF target.id is the endpoint, kept as a detail');
  assert.deepEqual(done.http, { method: null, status_code: 202, path: '/v2.1/servers/0a6f5c2e-4b1d-4e8f-9a3c-7d2e1f0b9c8a/action' });
  assert.deepEqual([done.user.id, done.user.name, done.project.id, done.source.ip, done.user_agent], ['6b8c4a9e2f5d4c1b9a7e3d2c1b0a9f8e', 'alice', '3f1e2d4c5b6a47988796a5b4c3d2e1f0', '192.0.2.10', 'python-novaclient']);
  assert.deepEqual([done.service.name, done.service.type, done.transaction_id, done.details.correlation_id], ['nova', 'compute', 'req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c', '5d6daf6b-345d-5c1e-9cf8-ab64f5589d6e']);
  assert.ok(!Object.keys(done.details).some((key) => /token|credential/.test(key)) && !Object.values(done.details).includes('***'), 'the credential token is never copied out of log.original');
  assert.equal(request!.value.event.outcome, null, 'pending: no outcome yet');
  assert.notEqual(request!.id, response!.id, 'the request and the response share a CADF id, not a record id');
});

test('a failed or unauthorized API call is denied', () => {
  const unauthorized = JSON.parse(fixtureLines('keystonemiddleware-audit.log')[1]!.split('] ', 2)[1]!) as { payload: { outcome: string; reason: { reasonCode: string } } };
  unauthorized.payload.outcome = 'failure';
  unauthorized.payload.reason.reasonCode = '403';
  const v = value(JSON.stringify(unauthorized));
  assert.deepEqual([v.event.outcome, v.event.type, v.http.status_code], ['failure', ['change', 'denied'], 403]);
});

test('Nova instance notifications: versioned (nova doc samples), legacy (StackTach sample payload) in the messaging v2 envelope', () => {
  // openstack/nova doc/notification_samples/instance-create-end.json and instance-create-error.json, with
  // message_id and timestamp added as oslo.messaging's Notifier._notify adds them to every notification
  const [end, error, legacy] = fixtureLines('nova-notifications.ndjson').map((line) => value(fromFile(line, 0, '/var/log/notifications.json'))) as [AuditEvent, AuditEvent, AuditEvent];
  assert.deepEqual([end.event.dataset, end.event.action, end.event.category, end.event.type, end.event.outcome], ['openstack.compute', 'instance.create.end', ['host'], ['start'], 'success']);
  assert.deepEqual([end.target, end.user.id, end.project.id, end.host.name, end.service.name, end.event.provider], [{ type: 'instance', id: '178b0921-8f85-4257-88b6-2e743b5a975c', name: 'some-server' }, 'fake', '6f70656e737461636b20342065766572', 'compute', 'nova', 'nova-compute:compute']);
  assert.deepEqual([end.details.flavor_name, end.details.flavor_vcpus, end.details.payload_class, end.details.power_state], ['test_flavor', '1', 'InstanceActionPayload', 'running']);
  assert.deepEqual([error.event.outcome, error.event.reason, error.details.exception, error.event.severity], ['failure', "The created instance's disk would be too small.", 'FlavorDiskTooSmall', 'ERROR']);
  // StackTach/notification-schemas samples/nova/compute-instance-create-end_1.json as the payload
  assert.deepEqual([legacy.event.action, legacy.event.outcome, legacy.target.id, legacy.target.name, legacy.host.name], ['compute.instance.create.end', 'success', '52aee9d3-e933-44b5-bfd0-7eb2653a1f49', 'Instance_195577', 'host-224739']);
  assert.deepEqual([legacy.user.id, legacy.user.name, legacy.user.roles, legacy.project.id, legacy.source.ip, legacy.transaction_id], ['447054', 'demo', ['member', 'reader'], '604905', '198.51.100.23', 'req-6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c']);
  assert.deepEqual([legacy.details.instance_type, legacy.details.memory_mb, legacy.details.image_meta], ['512MB Standard Instance', '512', undefined], 'scalars of the payload, nested objects stay in log.original');
  assert.ok(!Object.values(legacy.details).includes('***'), '_context_auth_token is not copied');
});

test('Nova audit-logging lines (the spec names the keys, not their spelling): user, action, exception', () => {
  const [started, refused, listed] = fixtureLines('nova-audit.log').map((line) => value(fromFile(line, 0, '/var/log/nova/nova-audit.log'))) as [AuditEvent, AuditEvent, AuditEvent];
  assert.deepEqual([started.event.action, started.event.type, started.event.outcome, started.user.id, started.project.id, started.source.ip, started.transaction_id, started.details.rpc], ['run_instances', ['creation'], 'unknown', 'alice', 'acme-research', '203.0.113.7', 'req-3e4fa169-80ec-4635-8a7e-b60c16eddbcb', '{"method":"run_instance","topic":"scheduler"}']);
  assert.deepEqual([refused.event.action, refused.event.outcome, refused.event.reason, refused.details.exception_type, refused.user.id], ['terminate_instances', 'failure', 'instance i-00000042 does not belong to project acme-research', 'NotAuthorized', 'bob']);
  assert.deepEqual([listed.event.outcome, new Date(listed.timestamp).toISOString()], ['success', '2011-02-03T10:20:00.500Z'], 'epoch seconds');
  const tokyo = value(fromFile(fixtureLines('nova-audit.log')[0]!, 0, '/var/log/nova/nova-audit.log', { timezone: 'Asia/Tokyo' }));
  assert.equal(new Date(tokyo.timestamp).toISOString(), '2011-02-03T01:11:12.345Z', 'zone-less in the input\'s zone');
});

test('the same notification by any path has one id: its message_id', () => {
  const inLog = record(fromFile(fixtureLines('keystonemiddleware-audit.log')[1]!, 900, '/var/log/nova/nova-api.log'));
  const bare = record(buildEnvelope({ message: fixtureLines('keystonemiddleware-audit.log')[1]!.split('] ', 2)[1]!, inputType: 'http' }));
  const wrapped = record(buildEnvelope({ message: JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': fixtureLines('keystonemiddleware-audit.log')[1]!.split('] ', 2)[1]! }), inputType: 'beats' }));
  assert.equal(inLog.id, bare.id);
  assert.equal(inLog.id, wrapped.id);
  const line = fixtureLines('nova-audit.log')[0]!;
  assert.equal(record(fromFile(line, 10)).id, record(fromFile(line, 10)).id, 'no business key: the line\'s coordinates');
  assert.notEqual(record(fromFile(line, 10)).id, record(fromFile(line, 11)).id);
});

test('the oslo.log wrapper fills in the request context a notification lacks; a bare timestamp before the JSON is read past', () => {
  const notification = JSON.parse(fixtureLines('keystone-basic-notifications.ndjson')[0]!) as Record<string, unknown>;
  const logged = `2025-09-30 14:01:53.549 4142 INFO oslo.messaging.notification.identity.user.created [req-2b4d6f8a-0c2e-4a6c-8e0a-2c4e6a8c0e2a req-5d7e9f1a-3b5c-4d7e-8f9a-1b3c5d7e9f1a 6b8c4a9e2f5d4c1b9a7e3d2c1b0a9f8e 3f1e2d4c5b6a47988796a5b4c3d2e1f0 - - default default] ${JSON.stringify(notification)}`;
  const v = value(logged);
  assert.deepEqual([v.transaction_id, v.trace_id, v.user.id, v.project.id], ['req-5d7e9f1a-3b5c-4d7e-8f9a-1b3c5d7e9f1a', 'req-2b4d6f8a-0c2e-4a6c-8e0a-2c4e6a8c0e2a', '6b8c4a9e2f5d4c1b9a7e3d2c1b0a9f8e', '3f1e2d4c5b6a47988796a5b4c3d2e1f0']);
  // canonical/smoke-alerts references.md prints keystone.log entries as a timestamp, a newline, the JSON
  assert.equal(value(`2025-09-30 14:01:53.549\n${roleAssignment}`).event.action, 'created.role_assignment');
});

/** what each line of invalid/notifications.ndjson breaks, in order */
const expectedRejections: { code: string; rule: string; path?: string; message: RegExp }[] = [
  { code: 'RECORD_INVALID', rule: 'required', path: '/payload', message: /^`payload` is required in an oslo\.messaging notification but missing/ },
  { code: 'RECORD_INVALID', rule: 'type', path: '/payload/outcome', message: /^`payload\.outcome` must be a string, got 7/ },
  { code: 'RECORD_UNPARSABLE', rule: 'json', message: /^expected a CADF event, an oslo\.messaging notification or a Nova audit line as JSON.*got "this is not JSON"/ },
  { code: 'RECORD_UNPARSABLE', rule: 'json', path: '/oslo.message', message: /^`oslo\.message` must hold the notification as a JSON string: the JSON ends at column \d+ before it is complete \(truncated\?\)/ },
  { code: 'RECORD_INVALID', rule: 'date-time', path: '/timestamp', message: /^the event states no readable time/ },
  { code: 'RECORD_INVALID', rule: 'shape', path: '', message: /^the JSON object is none of the OpenStack audit inputs.*\(keys found: hello\)/ },
  { code: 'RECORD_UNPARSABLE', rule: 'json', message: /keystonemiddleware's Python-repr audit payload, which is not JSON: configure \[audit_middleware_notifications\]/ },
  { code: 'RECORD_INVALID', rule: 'date-time', path: '/timestamp', message: /^the event states no readable time/ },
];

test('each invalid fixture line is rejected with what it breaks and where it came from', () => {
  const file = '/var/log/openstack/notifications.ndjson';
  const lines = fixtureLines('invalid/notifications.ndjson');
  assert.equal(lines.length, expectedRejections.length);
  let offset = 0;
  lines.forEach((line, index) => {
    const expected = expectedRejections[index]!;
    const got = reasons(fromFile(line, offset, file));
    const [reason] = got as [RejectionReason];
    assert.equal(reason.code, expected.code, `line ${index + 1}: ${JSON.stringify(got)}`);
    assert.equal(reason.rule, expected.rule, `line ${index + 1}`);
    assert.equal(reason.path, expected.path, `line ${index + 1}`);
    assert.match(reason.message, expected.message, `line ${index + 1}: ${reason.message}`);
    for (const r of got) assert.ok(r.message.endsWith(`(line at byte ${offset} of ${file} on host ${host})`), r.message);
    offset += Buffer.byteLength(line) + 1;
  });
  assert.equal(reasons(lines[1]!).length, 2, 'every schema reason at once');
  assert.equal(reasons('[1, 2]')[0]?.rule, 'type');
  assert.equal(reasons('')[0]?.rule, 'json');
});

test('every valid fixture line becomes one audit event that Avro keeps unchanged, in schema order', () => {
  const fields = (codec.type as unknown as { fields: { name: string }[] }).fields.map((f) => f.name);
  let count = 0;
  for (const name of readdirSync(fixtureDir)) {
    if (statSync(path.join(fixtureDir, name)).isDirectory()) continue;
    for (const line of fixtureLines(name)) {
      const normalised = record(line);
      assert.deepEqual(Object.keys(normalised.value), fields);
      assert.deepEqual(plain(codec.decode(codec.encode(normalised.value as unknown as Record<string, unknown>))), plain(normalised.value), line.slice(0, 80));
      assert.equal(normalised.value.event.module, 'openstack');
      count += 1;
    }
  }
  assert.ok(count >= 14, `${count}`);
});

test('any message gives one record or one rejection with reasons, never a throw', () => {
  const base = fixtureLines('keystone-notifications.ndjson').map((line) => JSON.parse(line) as Record<string, unknown>);
  const mutated = fc.tuple(fc.constantFrom(...base), fc.constantFrom('payload', 'timestamp', 'event_type', 'message_id', 'publisher_id', '_context_request_id'), fc.jsonValue()).map(([event, key, replacement]) => JSON.stringify({ ...event, [key]: replacement }));
  const payloadMutated = fc.tuple(fc.constantFrom(...base), fc.constantFrom('initiator', 'target', 'reason', 'eventTime', 'action', 'outcome', 'tags', 'requestPath', 'id'), fc.jsonValue()).map(([event, key, replacement]) => JSON.stringify({ ...event, payload: { ...(event.payload as object), [key]: replacement } }));
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.json(), mutated, payloadMutated), (text) => {
      const result = openstackAuditNormaliser.normalise(buildEnvelope({ message: text, inputType: 'http' }));
      assert.equal(result.records.length + result.rejections.length, 1);
      for (const rejection of result.rejections) for (const reason of rejection.reasons) assert.ok(reason.code.startsWith('RECORD_') && reason.message.length > 0);
      for (const normalised of result.records) codec.encode(normalised.value);
    }),
    { numRuns: 2000 },
  );
});
