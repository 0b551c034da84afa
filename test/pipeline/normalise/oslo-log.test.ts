import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { domainCodec } from '../../../pipeline/avro.js';
import { buildEnvelope, type RawEnvelope } from '../../../pipeline/envelope.js';
import { zoneNamed } from '../../../pipeline/normalise/common/date-time.js';
import { createOsloLogNormaliser, osloLogNormaliser } from '../../../pipeline/normalise/oslo-log.js';
import { TracebackJoiner } from '../../../pipeline/normalise/oslo/join.js';
import type { OpsLogEvent } from '../../../pipeline/normalise/oslo/log-event.js';
import type { NormalisedRecord } from '../../../pipeline/normalise/types.js';
import type { RejectionReason } from '../../../pipeline/dlq.js';
import { projectRoot } from '../../../pipeline/paths.js';

const fixtureDir = path.join(projectRoot, 'test/fixtures/oslo-log');
const codec = domainCodec('ops.logs');
const host = 'controller-01.example.org';

function fromFile(message: string, offset = 0, file = '/var/log/nova/nova-compute.log', extra: { fields?: Record<string, unknown>; timestamp?: string } = {}): RawEnvelope {
  const envelope = buildEnvelope({ message, inputType: 'filestream', path: file, offset, ...(extra.fields ? { fields: extra.fields } : {}) });
  (envelope.log?.file as Record<string, unknown>).inode = '912';
  (envelope.log?.file as Record<string, unknown>).device_id = '64768';
  envelope.host = { name: host };
  if (extra.timestamp) envelope['@timestamp'] = extra.timestamp;
  return envelope;
}

function record(input: RawEnvelope | string): Omit<NormalisedRecord, 'value'> & { value: OpsLogEvent } {
  const result = osloLogNormaliser.normalise(typeof input === 'string' ? fromFile(input) : input);
  assert.deepEqual(result.rejections, [], `expected a record, got ${JSON.stringify(result.rejections)}`);
  assert.equal(result.records.length, 1);
  return result.records[0] as unknown as Omit<NormalisedRecord, 'value'> & { value: OpsLogEvent };
}

const value = (input: RawEnvelope | string): OpsLogEvent => record(input).value;

function reasons(input: RawEnvelope | string): RejectionReason[] {
  const result = osloLogNormaliser.normalise(typeof input === 'string' ? fromFile(input) : input);
  assert.deepEqual(result.records, [], 'expected a rejection');
  assert.equal(result.rejections.length, 1);
  return result.rejections[0]?.reasons ?? [];
}

/** a fixture file through the joiner, as the transform runs it: one envelope per joined event */
function joinedEvents(name: string, file = `/var/log/x/${name}`): RawEnvelope[] {
  const joiner = new TracebackJoiner();
  const events: RawEnvelope[] = [];
  let offset = 0;
  readFileSync(path.join(fixtureDir, name), 'utf8').split('\n').slice(0, -1).forEach((text, i) => {
    events.push(...joiner.push(`${host}:${file}`, fromFile(text, offset, file), { topic: 'raw.oslo-log', partition: 0, offset: i }).map((e) => e.envelope));
    offset += Buffer.byteLength(text) + 1;
  });
  return [...events, ...joiner.flushAll().map((e) => e.envelope)];
}

/** a line of the journald fixture (openstack-k8s-operators/nova-operator pull 786; openstack/nova doc down-cell.rst) */
function journalLine(index: number): string {
  return readFileSync(path.join(fixtureDir, 'journal.log'), 'utf8').split('\n')[index] as string;
}

interface Expected {
  time: string;
  level: string;
  logger: string;
  pid?: number | null;
  request?: string | null;
  global?: string | null;
  user?: string | null;
  userName?: string | null;
  project?: string | null;
  projectName?: string | null;
  domain?: string | null;
  userDomain?: string | null;
  projectDomain?: string | null;
  systemScope?: string | null;
  instance?: string | null;
  message?: RegExp;
}

/**
 * Real oslo.log lines, each with where it was published, and what they must say. Release variants:
 * Essex (no milliseconds, no pid), Havana ([req user tenant], TRACE continuation prefix), ≤ Yoga
 * (request + 5-field identity), Zed and later (None or a global id + 6 fields), wrappers (LogHub's
 * file-name prefix, Apache error log, Sunbeam/pebble, journald, devstack).
 */
const realLines: { source: string; line: string; path?: string; expect: Expected }[] = [
  {
    source: 'https://github.com/nii-cloud/dodai-deploy/issues/18 (Essex, 2012)',
    line: '2012-07-05 22:03:53 INFO nova.virt.libvirt.connection [-] Compute_service record updated for server3.faveones.com',
    expect: { time: '2012-07-05T22:03:53.000Z', level: 'INFO', logger: 'nova.virt.libvirt.connection', pid: null, request: null, message: /^Compute_service record updated/ },
  },
  {
    source: 'https://github.com/nii-cloud/dodai-deploy/issues/18 (Essex DEBUG suffix with "from (pid=…)")',
    line: '2012-07-05 22:03:52 DEBUG nova.manager [-] Running periodic task ComputeManager._poll_rescued_instances from (pid=2575) periodic_tasks /usr/lib/python2.7/dist-packages/nova/manager.py:152',
    expect: { time: '2012-07-05T22:03:52.000Z', level: 'DEBUG', logger: 'nova.manager', pid: 2575, message: /^Running periodic task ComputeManager\._poll_rescued_instances$/ },
  },
  {
    source: 'https://github.com/nii-cloud/dodai-deploy/issues/18 (Essex context printing Python None; cut where the issue\'s excerpt ends)',
    line: "2012-07-05 22:01:51 DEBUG nova.rpc.amqp [req-24d008be-ca87-4d9d-98fd-473a5e8be209 None None] unpacked context: {'user_id': None, 'roles': [u'admin'], 'timestamp': '2012-07-06T02:01:51.714623', 'auth_token': '<SANITIZED>', 'remote_address': None, 'is_admin': True, 'request_id': u'req-24",
    expect: { time: '2012-07-05T22:01:51.000Z', level: 'DEBUG', logger: 'nova.rpc.amqp', pid: null, request: 'req-24d008be-ca87-4d9d-98fd-473a5e8be209', user: null, project: null },
  },
  {
    source: 'https://github.com/OpenStackCookbook/OpenStackCookbook/issues/12 (Havana, [req user tenant])',
    line: '2013-12-10 03:16:55.264 25049 ERROR nova.compute.manager [req-faccb823-f4de-4b6a-a5df-654a8e541507 01555a44694c46ae94132ffad7ed000a ad9fe3bfdf6240e0bfaa5233f7bf006b] [instance: c40758bc-e049-4634-bd5c-5c0a14438cce] Instance failed to spawn',
    expect: { time: '2013-12-10T03:16:55.264Z', level: 'ERROR', logger: 'nova.compute.manager', pid: 25049, request: 'req-faccb823-f4de-4b6a-a5df-654a8e541507', user: '01555a44694c46ae94132ffad7ed000a', project: 'ad9fe3bfdf6240e0bfaa5233f7bf006b', instance: 'c40758bc-e049-4634-bd5c-5c0a14438cce', message: /^Instance failed to spawn$/ },
  },
  {
    source: 'https://github.com/SUSE-Cloud/keystone-hybrid-backend/issues/29 (Kilo keystone, eventlet access line)',
    line: '2015-04-27 08:22:04.002 17146 INFO eventlet.wsgi.server [-] 10.173.3.11 - - [27/Apr/2015 08:22:04] "GET /v3/auth/tokens HTTP/1.1" 200 8526 0.065399',
    path: '/var/log/keystone/keystone.log',
    expect: { time: '2015-04-27T08:22:04.002Z', level: 'INFO', logger: 'eventlet.wsgi.server', pid: 17146, request: null },
  },
  {
    source: 'https://github.com/iesgn/openstack-debian-ansible/issues/24 (Mitaka keystone, domain-scoped 5-field identity)',
    line: '2016-05-30 18:32:15.277 26139 INFO keystone.common.wsgi [req-71749d04-1e62-414a-bc3d-0b4e5e31e6f5 6db67b8e3e064e9da39b94c8a5433c46 dba989a595b3477f81bc36d252b66b68 - 5c1ea4ef36f64793aab329d956dd4193 5c1ea4ef36f64793aab329d956dd4193] GET http://192.168.221.101:35357/v3/auth/tokens',
    path: '/var/log/keystone/keystone.log',
    expect: { time: '2016-05-30T18:32:15.277Z', level: 'INFO', logger: 'keystone.common.wsgi', request: 'req-71749d04-1e62-414a-bc3d-0b4e5e31e6f5', global: null, user: '6db67b8e3e064e9da39b94c8a5433c46', project: 'dba989a595b3477f81bc36d252b66b68', domain: null, userDomain: '5c1ea4ef36f64793aab329d956dd4193', projectDomain: '5c1ea4ef36f64793aab329d956dd4193' },
  },
  {
    source: 'logpai/loghub OpenStack/OpenStack_2k.log, quoted in shared/reference/openstack-audit-kibana.md §1.6 (Ocata nova-api, with the dataset\'s file-name prefix)',
    line: 'nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b-2096-447d-96ea-a692162415ae 113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e - - -] 10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1" status: 200 len: 1893 time: 0.2477829',
    path: '/var/log/nova/nova-api.log',
    expect: { time: '2017-05-16T00:00:00.008Z', level: 'INFO', logger: 'nova.osapi_compute.wsgi.server', pid: 25746, request: 'req-38101a0b-2096-447d-96ea-a692162415ae', user: '113d3a99c3da401fbd62cc2caa5b96d2', project: '54fadb412c4e40cdbaed9335e4c35a9e', domain: null, userDomain: null, projectDomain: null },
  },
  {
    source: 'logpai/loghub OpenStack/OpenStack_2k.log (Ocata nova-compute: request without identity, instance)',
    line: '2017-05-16 00:00:04.500 2931 INFO nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] [instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Started (Lifecycle Event)',
    expect: { time: '2017-05-16T00:00:04.500Z', level: 'INFO', logger: 'nova.compute.manager', request: 'req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab', user: null, project: null, instance: 'b9000564-fe1a-409b-b8cc-1e88b294cd1d', message: /^VM Started \(Lifecycle Event\)$/ },
  },
  {
    source: 'logpai/loghub OpenStack/OpenStack_2k.log (no context, with instance)',
    line: '2017-05-16 00:00:10.302 2931 INFO nova.virt.libvirt.driver [-] [instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] Instance spawned successfully.',
    expect: { time: '2017-05-16T00:00:10.302Z', level: 'INFO', logger: 'nova.virt.libvirt.driver', request: null, instance: 'b9000564-fe1a-409b-b8cc-1e88b294cd1d' },
  },
  {
    source: 'https://github.com/conjure-up/conjure-up/issues/1379 (Queens glance, context + eventlet access line)',
    line: '2018-03-23 08:47:15.696 4173 INFO eventlet.wsgi.server [req-21ff30d1-d9d0-434e-a6cd-b7bc38afc021 7e3e8611991f4d76849357f9c5954f1f ecd3c6a4b5ee4f3d82df93ff9ec48acf - 185647530e46491b86b391c5c5275828 185647530e46491b86b391c5c5275828] 10.101.0.83 - - [23/Mar/2018 08:47:15] "GET /v2/images?limit=1000&sort_key=created_at&sort_dir=desc HTTP/1.1" 200 887 0.028503',
    path: '/var/log/glance/glance-api.log',
    expect: { time: '2018-03-23T08:47:15.696Z', level: 'INFO', logger: 'eventlet.wsgi.server', request: 'req-21ff30d1-d9d0-434e-a6cd-b7bc38afc021', user: '7e3e8611991f4d76849357f9c5954f1f', project: 'ecd3c6a4b5ee4f3d82df93ff9ec48acf', userDomain: '185647530e46491b86b391c5c5275828' },
  },
  {
    source: 'https://bugs.launchpad.net/oslo.messaging/+bug/1905965 (Train nova-compute, default domains)',
    line: '2020-10-30 16:32:54.059 8 ERROR oslo_messaging.rpc.server [req-99a5cda6-7c8e-4cba-88f4-37b3447d4dbd c767e1727b1348449b355ea2f6c529f3 0b0b4de19ae94554a8f8b2c949306456 - default default] MessageUndeliverable error, source exception: Basic.return: (312) NO_ROUTE, routing_key: reply_d2ac09b0671840d39da6a9c718b5a63f, exchange: : : oslo_messaging.exceptions.MessageUndeliverable',
    expect: { time: '2020-10-30T16:32:54.059Z', level: 'ERROR', logger: 'oslo_messaging.rpc.server', pid: 8, request: 'req-99a5cda6-7c8e-4cba-88f4-37b3447d4dbd', user: 'c767e1727b1348449b355ea2f6c529f3', project: '0b0b4de19ae94554a8f8b2c949306456', userDomain: 'default', projectDomain: 'default' },
  },
  {
    source: 'canonical/hotsos hotsos/defs/tests/scenarios/openstack/neutron/bugs/lp1993628.yaml (Yoga neutron-server, domain-scoped)',
    line: "2022-10-19 02:24:12.497 67548 ERROR neutron.db.dns_db [req-e6d270d2-fbde-42d7-a75b-2c8a67c42fcb 2dc4151f6dba4c3e8ba8537c9c354c13 f548268d5255424591baa8783f1cf277 - 6a71047e7d7f4e01945ec58df06ae63f 6a71047e7d7f4e01945ec58df06ae63f] Error deleting Floating IP data from external DNS service. Name: 'vm-2'. Domain: 'compute.stack.vpn.'. IP addresses '192.168.21.217'. DNS service driver message 'Name vm-2.compute.stack.vpn. is duplicated in the external DNS service': neutron_lib.exceptions.dns.DuplicateRecordSet: Name vm-2.compute.stack.vpn. is duplicated in the external DNS service",
    path: '/var/log/neutron/neutron-server.log',
    expect: { time: '2022-10-19T02:24:12.497Z', level: 'ERROR', logger: 'neutron.db.dns_db', request: 'req-e6d270d2-fbde-42d7-a75b-2c8a67c42fcb', user: '2dc4151f6dba4c3e8ba8537c9c354c13', project: 'f548268d5255424591baa8783f1cf277', userDomain: '6a71047e7d7f4e01945ec58df06ae63f' },
  },
  {
    source: 'canonical/hotsos hotsos/defs/tests/scenarios/openstack/neutron/bugs/lp1883089.yaml (None + 5-field identity)',
    line: "2023-06-11 15:39:28.391 1285214 ERROR oslo_messaging.rpc.server [None req-d6a41187-2495-46bf-a424-ab7195c0ecb1 - - - - -] Exception during message handling: AttributeError: 'NoneType' object has no attribute 'get'",
    path: '/var/log/neutron/neutron-l3-agent.log',
    expect: { time: '2023-06-11T15:39:28.391Z', level: 'ERROR', logger: 'oslo_messaging.rpc.server', request: 'req-d6a41187-2495-46bf-a424-ab7195c0ecb1', global: null, user: null, project: null },
  },
  {
    source: 'https://github.com/openstack-k8s-operators/nova-operator/pull/597 (2023 nova-compute, Zed+ None + 6 fields)',
    line: "2023-11-16 10:42:42.444 2 ERROR oslo_service.service [None req-56dbf76c-524c-455d-9c64-d3474509e8d0 - - - - - -] Error starting thread.: nova.exception.InvalidConfiguration: '[compute]/cpu_dedicated_set' is mandatory to be set if '[libvirt]/cpu_power_management' is set.Please provide the CPUs that can be pinned or don't use the power management if you only use shared CPUs.",
    expect: { time: '2023-11-16T10:42:42.444Z', level: 'ERROR', logger: 'oslo_service.service', pid: 2, request: 'req-56dbf76c-524c-455d-9c64-d3474509e8d0', global: null, user: null, systemScope: null },
  },
  {
    source: 'https://github.com/openstack-k8s-operators/nova-operator/pull/786 (2024 nova-compute in journald, 6 fields; cut where the comment\'s excerpt ends, inside the DEBUG suffix)',
    line: journalLine(0),
    path: '/var/log/journal.log',
    expect: { time: '2024-06-18T19:45:42.985Z', level: 'DEBUG', logger: 'nova.policy', pid: 2, request: 'req-d2771f14-0013-49ac-9a4f-0d70cbe8b45a', global: null, user: 'b4ddd2b37fa44993828c4a24e2f55fd0', project: '73059a94ba204752a9b82904e60f652c', domain: null, systemScope: null, userDomain: 'default', projectDomain: 'default', message: /'service_roles': \[\]\} authorize \/usr\/lib\/python3\.9\/site-package$/ },
  },
  {
    source: 'https://github.com/openstack-k8s-operators/nova-operator/pull/786 (tempest\'s oslo.log line with both ids and an empty identity)',
    line: '2024-06-18 19:45:54.628 28 INFO tempest.lib.common.rest_client [req-d2771f14-0013-49ac-9a4f-0d70cbe8b45a req-d2771f14-0013-49ac-9a4f-0d70cbe8b45a ] Request (AttachInterfacesTestJSON:test_create_list_show_delete_interfaces_by_network_port): 200 POST https://nova-public-openstack.apps-crc.testing/v2.1/servers/e5cab325-634d-4fb8-9f77-4b024bdca500/os-interface 12.812s',
    path: '/var/log/tempest.log',
    expect: { time: '2024-06-18T19:45:54.628Z', level: 'INFO', logger: 'tempest.lib.common.rest_client', request: 'req-d2771f14-0013-49ac-9a4f-0d70cbe8b45a', global: 'req-d2771f14-0013-49ac-9a4f-0d70cbe8b45a', user: null },
  },
  {
    source: 'cinder troubleshooting write-up quoted in shared/reference/openstack-audit-kibana.md §1.6 (global request id; the reference could not name its repository: corroboration of the format oslo.log 4.8+ writes)',
    line: '2024-03-12 16:32:48.399 79125 INFO cinder.volume.manager [req-e4e454d2-8922-4a2a-abd9-9b67af159199 req-757c8e35-c498-438f-be57-dc8a302ad923 388453f976ce4084a063974f124faf2a c5017cb7b19041918102de1d97d1b52d - - - -] Created volume successfully.',
    path: '/var/log/cinder/cinder-volume.log',
    expect: { time: '2024-03-12T16:32:48.399Z', level: 'INFO', logger: 'cinder.volume.manager', request: 'req-757c8e35-c498-438f-be57-dc8a302ad923', global: 'req-e4e454d2-8922-4a2a-abd9-9b67af159199', user: '388453f976ce4084a063974f124faf2a', project: 'c5017cb7b19041918102de1d97d1b52d', domain: null, systemScope: null, userDomain: null, projectDomain: null },
  },
  {
    source: 'canonical/hotsos hotsos/defs/tests/scenarios/openstack/token_auth_failed_cinder.yaml (Apache error-log time before the oslo line, ANSI reset)',
    line: '2025-07-21 11:57:24.730343 2025-07-21 11:57:24.729 3890533 WARNING keystonemiddleware.auth_token [req-47565f8f-6b63-4389-a109-9e85fe74dcd4 3478b4aca2d14940828884edc5779ac3 d617a9b7a2ef4dfd84240d993de16d53 - 6164886f24e241a2b3566f182088a727 6164886f24e241a2b3566f182088a727] Authorization failed for token: keystonemiddleware.auth_token._exceptions.InvalidToken: Token authorization failed\x1b[00m',
    path: '/var/log/apache2/cinder_error.log',
    expect: { time: '2025-07-21T11:57:24.729Z', level: 'WARNING', logger: 'keystonemiddleware.auth_token', pid: 3890533, request: 'req-47565f8f-6b63-4389-a109-9e85fe74dcd4', user: '3478b4aca2d14940828884edc5779ac3', project: 'd617a9b7a2ef4dfd84240d993de16d53', domain: null, userDomain: '6164886f24e241a2b3566f182088a727', message: /Token authorization failed$/ },
  },
  {
    source: 'canonical/hotsos tests/unit/fake_data_root/sunbeam/…/podlogs/keystone-0, quoted in shared/reference/openstack-audit-kibana.md §1.6 (pebble wrapper, comma millis, no pid)',
    line: '2025-05-14T11:26:23.155Z [wsgi-keystone] 2025-05-14 11:26:23.155091 2025-05-14 11:26:23,154 WARNING keystone.common.fernet_utils [None req-82f2f408-4f9c-4d35-87f2-164419a539f3 6036c2ce53f64ccf9178a1e238dc4aa8 18657cfc94d94d8fb64ced314253ded8 - - 2e4504324af145d8a29818e67bb0aa92 2e4504324af145d8a29818e67bb0aa92] key_repository is world readable: /etc/keystone/fernet-keys/',
    path: '/var/log/pods/keystone.log',
    expect: { time: '2025-05-14T11:26:23.154Z', level: 'WARNING', logger: 'keystone.common.fernet_utils', pid: null, request: 'req-82f2f408-4f9c-4d35-87f2-164419a539f3', global: null, user: '6036c2ce53f64ccf9178a1e238dc4aa8', project: '18657cfc94d94d8fb64ced314253ded8', domain: null, systemScope: null, userDomain: '2e4504324af145d8a29818e67bb0aa92' },
  },
  {
    source: 'https://github.com/canonical/smoke-alerts references.md (2025 neutron-server, X-Forwarded-For client)',
    line: '2025-09-29 09:28:54.567 3312279 INFO neutron.wsgi [req-565c7bfe-ef2c-4dca-8adb-01973a48d558 18b9a79bb9d14fa595c67ee981f35158 1fcb9d1fbad0402197d275c63dc7df25 - c601551c20a445cba39b2469619c38af c601551c20a445cba39b2469619c38af] 10.149.54.41,127.0.0.1 "GET /v2.0/subnets HTTP/1.1" status: 404  len: 558 time: 0.0265512',
    path: '/var/log/neutron/neutron-server.log',
    expect: { time: '2025-09-29T09:28:54.567Z', level: 'INFO', logger: 'neutron.wsgi', request: 'req-565c7bfe-ef2c-4dca-8adb-01973a48d558', user: '18b9a79bb9d14fa595c67ee981f35158', project: '1fcb9d1fbad0402197d275c63dc7df25' },
  },
  {
    source: 'openstack/nova doc/source/contributor/testing/down-cell.rst, quoted in shared/reference/openstack-audit-kibana.md §1.5 (devstack journald: names, no oslo time)',
    line: 'Apr 04 20:48:22 train devstack@n-api.service[10884]: WARNING nova.objects.service [None req-1cf4bf5c-2f74-4be0-a18d-51ff81df57dd admin admin] Failed to get minimum service version for cell 4f495a21-294a-4051-9a3d-8b34a250bbb4',
    path: '/var/log/journal.log',
    expect: { time: '2024-04-04T20:48:22.000Z', level: 'WARNING', logger: 'nova.objects.service', pid: 10884, request: 'req-1cf4bf5c-2f74-4be0-a18d-51ff81df57dd', global: null, user: null, userName: 'admin', projectName: 'admin' },
  },
  {
    source: 'https://dague.net/category/openstack/ (devstack journald, 2017; cut where the post\'s excerpt ends)',
    line: "Mar 29 16:16:05 os4 nova-api[14042]: DEBUG nova.api.openstack.wsgi [req-3e4fa169-80ec-4635-8a7e-b60c16eddbcb demo demo] Action: 'create', calling method: <bound method ServersController.create of <nova.api.openstack.compute.servers.ServersController object at 0x7fa7c93584d0>>, body: {\"server\": {\"min_count\": 1,",
    path: '/var/log/journal.log',
    expect: { time: '2024-03-29T16:16:05.000Z', level: 'DEBUG', logger: 'nova.api.openstack.wsgi', pid: 14042, request: 'req-3e4fa169-80ec-4635-8a7e-b60c16eddbcb', projectName: 'demo', userName: 'demo', message: /^Action: 'create'/ },
  },
];

test('real oslo.log lines of every release and wrapper parse with no rejects, and their ids, identity and instance come out right', () => {
  for (const { source, line, path: file, expect } of realLines) {
    const v = value(fromFile(line, 0, file, { timestamp: '2024-07-01T00:00:00Z' }));
    const say = `${source}: ${line.slice(0, 80)}`;
    assert.equal(new Date(v.timestamp).toISOString(), expect.time, say);
    assert.equal(v.log.level, expect.level, say);
    assert.equal(v.log.logger, expect.logger, say);
    const checks: [keyof Expected, unknown][] = [
      ['pid', v.process.pid],
      ['request', v.transaction_id],
      ['global', v.trace_id],
      ['user', v.user.id],
      ['userName', v.user.name],
      ['project', v.project.id],
      ['projectName', v.project.name],
      ['domain', v.domain_id],
      ['userDomain', v.user.domain],
      ['projectDomain', v.project.domain],
      ['systemScope', v.system_scope],
      ['instance', v.cloud_instance_id],
    ];
    for (const [key, got] of checks) if (expect[key] !== undefined) assert.equal(got, expect[key], `${key} of ${say}`);
    if (expect.message) assert.match(v.message, expect.message, say);
    assert.equal(v.log.format, 'text');
    codec.decode(codec.encode(v as unknown as Record<string, unknown>));
  }
});

test('the bracket shapes oslo.log has written, one by one', () => {
  const shape = (bracket: string) => value(`2024-01-01 00:00:00.000 1 INFO nova.x ${bracket} message`);
  const R = 'req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c';
  const G = 'req-2b4d6f8a-0c2e-4a6c-8e0a-2c4e6a8c0e2a';
  const none = shape('[-]');
  assert.deepEqual([none.transaction_id, none.trace_id, none.user_identity, none.message], [null, null, null, 'message']);
  const five = shape(`[${R} u p d ud pd]`);
  assert.deepEqual([five.transaction_id, five.trace_id, five.user.id, five.project.id, five.domain_id, five.system_scope, five.user.domain, five.project.domain], [R, null, 'u', 'p', 'd', null, 'ud', 'pd']);
  const six = shape(`[None ${R} u p d s ud pd]`);
  assert.deepEqual([six.transaction_id, six.trace_id, six.user.id, six.project.id, six.domain_id, six.system_scope, six.user.domain, six.project.domain], [R, null, 'u', 'p', 'd', 's', 'ud', 'pd']);
  const global = shape(`[${G} ${R} u p - all - -]`);
  assert.deepEqual([global.transaction_id, global.trace_id, global.system_scope, global.user.domain], [R, G, 'all', null]);
  const noneFive = shape(`[None ${R} - - - - -]`);
  assert.deepEqual([noneFive.transaction_id, noneFive.trace_id, noneFive.user.id, noneFive.user_identity], [R, null, null, '- - - - -']);
  // SAP's charts (sapcc/helm-charts pull 2521): logging_context_format_string = … [%(request_id)s g%(global_request_id)s %(user_identity)s] …
  const sap = shape(`[${R} g${G} u p - ud pd]`);
  assert.deepEqual([sap.transaction_id, sap.trace_id, sap.user.id, sap.project.domain], [R, G, 'u', 'pd']);
  assert.equal(shape(`[${R} gNone u p - ud pd]`).trace_id, null);
  // glance before req- ids: a bare UUID
  const glance = shape('[7f95a712-d24a-4412-8f16-10545fd0c22e 70f9aa2374644424a3ba33f83c25d594 43dd1d1beb1e40959a051d9b827bcaa8 - - -]');
  assert.deepEqual([glance.transaction_id, glance.user.id, glance.project.id], ['7f95a712-d24a-4412-8f16-10545fd0c22e', '70f9aa2374644424a3ba33f83c25d594', '43dd1d1beb1e40959a051d9b827bcaa8']);
  const odd = shape(`[${R} a b c]`);
  assert.deepEqual([odd.user.id, odd.user_identity], [null, 'a b c'], 'an identity of an unknown shape is kept as written only');
  const notContext = value('2024-01-01 00:00:00.000 1 ERROR nova.x [Errno 111] ECONNREFUSED');
  assert.deepEqual([notContext.transaction_id, notContext.message], [null, '[Errno 111] ECONNREFUSED'], 'a message starting with a bracket is not a context');
});

test('tracebacks: the fixture files through the joiner, each record with its whole stack trace', () => {
  const events = joinedEvents('nova-compute.log', '/var/log/nova/nova-compute.log');
  const values = events.map((e) => value(e));
  assert.equal(values.length, 10);
  const byMessage = (pattern: RegExp) => values.find((v) => pattern.test(v.message)) as OpsLogEvent;
  // LP#1934937 (canonical/hotsos …/oslo_messaging/lp1934937.yaml): a foreign traceback, unprefixed
  const foreign = byMessage(/^Connection failed: \[Errno 101\]/);
  assert.equal(foreign.error_stack_trace?.split('\n').length, 8);
  assert.equal(foreign.error_type, 'greenlet.error');
  // LP#1944619 (…/nova/bugs/lp1944619.yaml): no context but an instance, prefix-only continuation lines
  const vif = byMessage(/^attaching network adapter failed/);
  assert.deepEqual([vif.cloud_instance_id, vif.error_stack_trace, vif.error_type], ['de492a45-6498-4313-be8d-9961c53f78d9', null, 'libvirt.libvirtError']);
  assert.deepEqual(vif.log.flags, ['multiline']);
  // nova-operator pull 597: the Zed+ traceback
  const thread = byMessage(/^Error starting thread/);
  assert.equal(thread.error_stack_trace?.split('\n')[1], '  File "/usr/lib/python3.9/site-packages/oslo_service/service.py", line 806, in run_service');
  assert.equal(thread.error_type, 'nova.exception.InvalidConfiguration');
  const spawn = byMessage(/^Instance failed to spawn: libvirt/);
  assert.equal(spawn.error_stack_trace?.split('\n').length, 30);
  assert.equal(spawn.trace_id, 'req-2f1c0a3e-9b7d-4c51-8e26-5d4a7b9c0e13');

  const old = joinedEvents('nova-compute.log.1', '/var/log/nova/nova-compute.log.1').map((e) => value(e));
  // Havana TRACE continuation lines (OpenStackCookbook/OpenStackCookbook issue 12)
  const havana = old.find((v) => v.message === 'Instance failed to spawn') as OpsLogEvent;
  assert.deepEqual(havana.error_stack_trace?.split('\n'), ["    if ret == -1: raise libvirtError ('virDomainCreateWithFlags() failed', dom=self)", 'libvirtError: An error occurred, but the cause is unknown']);
  // rcbops/chef-cookbooks issue 809: a TRACE block whose header the report left out
  const trace = old.find((v) => v.log.level === 'TRACE') as OpsLogEvent;
  assert.equal(trace.error_stack_trace?.split('\n').length, 6);
  assert.equal(trace.error_type, 'libvirtError');

  const neutron = joinedEvents('neutron-server.log', '/var/log/neutron/neutron-server.log').map((e) => value(e));
  // LP#1993628 (…/neutron/bugs/lp1993628.yaml): traceback lines as the fixture has them (indentation lost in pasting)
  const dns = neutron.find((v) => v.log.logger === 'neutron.db.dns_db') as OpsLogEvent;
  assert.equal(dns.error_stack_trace?.split('\n').length, 8);
  assert.equal(dns.error_type, 'neutron_lib.exceptions.dns.DuplicateRecordSet');
  assert.equal(dns.error_message, 'Name vm-2.compute.stack.vpn. is duplicated in the external DNS service');
});

test('without a joiner, a lone continuation line is rejected with the reason and the fix', () => {
  // the unprefixed lines of LP#1934937 (canonical/hotsos …/oslo_messaging/lp1934937.yaml)
  for (const line of ['Traceback (most recent call last):', '  File "/usr/lib/python3/dist-packages/eventlet/hubs/hub.py", line 476, in fire_timers', '    timer()']) {
    const [reason] = reasons(line);
    assert.equal(reason?.code, 'RECORD_UNPARSABLE');
    assert.equal(reason?.rule, 'oslo-header');
    assert.match(reason?.message ?? '', /continuation line .* join lines before \(Filebeat multiline\) or in the transform \(TracebackJoiner\)/);
  }
  // a prefixed one still parses as a record of its own (what a per-line shipper gets)
  assert.equal(value('2023-06-11 15:39:28.391 1285214 ERROR oslo_messaging.rpc.server Traceback (most recent call last):').error_stack_trace, 'Traceback (most recent call last):');
});

test('a message Filebeat multiline already joined reads the same as the joiner\'s', () => {
  const lines = readFileSync(path.join(fixtureDir, 'neutron-l3-agent.log'), 'utf8').split('\n').slice(3, 8);
  const filebeat = fromFile(lines.join('\n'), 0, '/var/log/neutron/neutron-l3-agent.log');
  (filebeat.log as Record<string, unknown>).flags = ['multiline'];
  const v = value(filebeat);
  assert.equal(v.error_stack_trace?.split('\n').length, 4);
  assert.equal(v.error_type, 'AttributeError');
  assert.deepEqual(v.log.flags, ['multiline']);
});

test('WSGI access lines: method, path, query, status, bytes, duration and client', () => {
  const access = (line: string) => value(line).http;
  // LogHub (Ocata nova-api)
  assert.deepEqual(access(realLines[6]!.line), { method: 'GET', path: '/v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail', query: null, version: '1.1', status_code: 200, bytes: 1893, duration_ms: 247.7829, microversion: null });
  // canonical/smoke-alerts references.md: neutron's two spaces before len:, and an X-Forwarded-For list
  const neutron = value(realLines[19]!.line);
  assert.deepEqual([neutron.http?.status_code, neutron.http?.bytes, neutron.http?.duration_ms, neutron.source.ip], [404, 558, 26.5512, '10.149.54.41']);
  // conjure-up issue 1379: eventlet's default format with a query
  const glance = value(realLines[9]!.line);
  assert.deepEqual([glance.http?.path, glance.http?.query, glance.http?.status_code, glance.http?.bytes, glance.http?.duration_ms, glance.source.ip], ['/v2/images', 'limit=1000&sort_key=created_at&sort_dir=desc', 200, 887, 28.503, '10.101.0.83']);
  // nova's requestlog format string (openstack/nova nova/api/openstack/requestlog.py): … len: %(len)s microversion: %(microversion)s time: %(time).6f
  assert.deepEqual(access('2024-01-01 00:00:00.000 7 INFO nova.api.openstack.requestlog [None req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c u p - - default default] 192.0.2.10 "GET /v2.1/servers HTTP/1.1" status: 200 len: 1234 microversion: 2.79 time: 0.123000'), { method: 'GET', path: '/v2.1/servers', query: null, version: '1.1', status_code: 200, bytes: 1234, duration_ms: 123, microversion: '2.79' });
  // the brief's own example, without a client
  assert.equal(access('2024-01-01 00:00:00.000 7 INFO nova.osapi_compute.wsgi.server [-] "GET /v2.1/servers HTTP/1.1" status: 200 len: 1234 time: 0.123')?.status_code, 200);
  assert.equal(access('2024-01-01 00:00:00.000 7 INFO nova.compute.manager [-] Took 19.05 seconds to spawn'), null);
});

test('the error summary oslo appends: the rightmost exception class', () => {
  const error = (message: string) => {
    const v = value(`2024-01-01 00:00:00.000 1 ERROR nova.x [-] ${message}`);
    return [v.error_type, v.error_message];
  };
  assert.deepEqual(error("Exception during message handling: AttributeError: 'NoneType' object has no attribute 'get'"), ['AttributeError', "'NoneType' object has no attribute 'get'"]);
  assert.deepEqual(error('Connection failed: [Errno 101] ENETUNREACH (retrying in 0 seconds): OSError: [Errno 101] ENETUNREACH'), ['OSError', '[Errno 101] ENETUNREACH']);
  assert.deepEqual(error('MessageUndeliverable error, source exception: Basic.return: (312) NO_ROUTE, exchange: : : oslo_messaging.exceptions.MessageUndeliverable'), ['oslo_messaging.exceptions.MessageUndeliverable', null]);
  assert.deepEqual(error('key_repository is world readable: /etc/keystone/fernet-keys/'), [null, null]);
  assert.deepEqual(error('Connected to server.example.org'), [null, null]);
  const info = value('2024-01-01 00:00:00.000 1 INFO nova.x [-] state: RuntimeError: not an error at INFO');
  assert.equal(info.error_type, null, 'only WARNING and above carry a summary');
});

test('JSON-formatter lines: list traceback (oslo.log ≤ 7), string traceback (8.0+), no context, FluentFormatter', () => {
  const events = readFileSync(path.join(fixtureDir, 'nova-compute.json.log'), 'utf8').split('\n').filter((l) => l !== '');
  // [0] and [1] are the generated reference output of oslo.log 5.0.1 (shared/reference/openstack-audit-kibana.md §1.9)
  const [noContext, list, text, fluent] = events.map((line) => value(fromFile(line, 0, '/var/log/nova/nova-compute.json.log'))) as [OpsLogEvent, OpsLogEvent, OpsLogEvent, OpsLogEvent];
  assert.deepEqual([noContext.transaction_id, noContext.user.id, noContext.log.level, noContext.log.format, noContext.error_stack_trace], [null, null, 'INFO', 'json', null]);
  assert.equal(new Date(list.timestamp).toISOString(), '2026-11-22T11:08:52.619Z', 'created, not asctime (which has no milliseconds)');
  assert.deepEqual([list.transaction_id, list.trace_id, list.user.id, list.project.id, list.user.domain, list.project.domain, list.cloud_instance_id, list.host.name, list.process.pid], ['req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c', null, '6b8c4a9e2f5d4c1b9a7e3d2c1b0a9f8e', '3f1e2d4c5b6a47988796a5b4c3d2e1f0', 'default', 'default', '0a6f5c2e-4b1d-4e8f-9a3c-7d2e1f0b9c8a', 'vm', 28578]);
  assert.deepEqual([list.error_type, list.error_message, list.error_stack_trace?.split('\n').length, list.log.level_number, list.log.origin_function, list.log.origin_line], ['RuntimeError', 'Connection to libvirt lost', 4, 40, '<module>', 13]);
  assert.equal(text.error_stack_trace, list.error_stack_trace, 'the string form reads as the list form');
  assert.equal(text.trace_id, 'req-2b4d6f8a-0c2e-4a6c-8e0a-2c4e6a8c0e2a');
  assert.deepEqual([fluent.log.level, fluent.host.name, fluent.cloud_instance_id, new Date(fluent.timestamp).toISOString()], ['INFO', 'compute-01', '0a6f5c2e-4b1d-4e8f-9a3c-7d2e1f0b9c8a', '2026-11-22T11:09:03.000Z']);
});

test('service and process: from the file, the journald unit or the container, else the logger', () => {
  const at = (line: string, file: string, fields?: Record<string, unknown>) => {
    const v = value(fromFile(line, 0, file, { timestamp: '2024-07-01T00:00:00Z', ...(fields ? { fields } : {}) }));
    return [v.service.name, v.process.name];
  };
  const library = '2023-06-11 15:39:28.391 1285214 ERROR oslo_messaging.rpc.server [-] x';
  assert.deepEqual(at(library, '/var/log/neutron/neutron-l3-agent.log.1'), ['neutron', 'neutron-l3-agent']);
  assert.deepEqual(at(library, '/var/log/kolla/nova/nova-conductor.log'), ['nova', 'nova-conductor']);
  assert.deepEqual(at(library, '/var/log/containers/messages', { service: 'cinder' }), ['cinder', null]);
  assert.deepEqual(at(library, '/var/log/syslog'), ['oslo_messaging', null]);
  assert.deepEqual(at('2024-01-01 00:00:00.000 1 INFO keystone.common.wsgi [-] x', '/var/log/syslog'), ['keystone', null]);
  assert.deepEqual(at(realLines[20]!.line, '/var/log/journal.log'), ['nova', 'n-api']);
  assert.deepEqual(at(realLines[14]!.line, '/var/log/journal.log'), ['nova', 'nova-compute']);
  assert.deepEqual(at(realLines[14]!.line, '/var/log/journal.log').length, 2);
  assert.equal(value(fromFile(realLines[14]!.line, 0, '/var/log/journal.log')).host.name, 'np0004727860', 'the syslog host');
});

test('times: zone-less text in UTC unless the input names a zone; offsets, DST, syslog years', () => {
  const line = '2024-07-01 12:00:00.250 1 INFO nova.x [-] x';
  const at = (fields?: Record<string, unknown>) => new Date(value(fromFile(line, 0, undefined, fields ? { fields } : {})).timestamp).toISOString();
  assert.equal(at(), '2024-07-01T12:00:00.250Z');
  assert.equal(at({ timezone: 'Europe/Paris' }), '2024-07-01T10:00:00.250Z', 'summer time');
  assert.equal(new Date(value(fromFile('2024-01-15 12:00:00.250 1 INFO nova.x [-] x', 0, undefined, { fields: { timezone: 'Europe/Paris' } })).timestamp).toISOString(), '2024-01-15T11:00:00.250Z', 'winter time');
  assert.equal(at({ timezone: '+09:00' }), '2024-07-01T03:00:00.250Z');
  assert.equal(at({ timezone: 'UTC' }), '2024-07-01T12:00:00.250Z');
  const tokyo = createOsloLogNormaliser({ defaultZone: zoneNamed('Asia/Tokyo')! });
  assert.equal(new Date((tokyo.normalise(fromFile(line)).records[0]?.value as unknown as OpsLogEvent).timestamp).toISOString(), '2024-07-01T03:00:00.250Z', 'a configured default zone');
  const [bad] = reasons(fromFile(line, 0, undefined, { fields: { timezone: 'Mars/Olympus' } }));
  assert.deepEqual([bad?.rule, bad?.path], ['timezone', '/fields/timezone']);
  assert.equal(new Date(value('2025-05-14 11:26:23,154 WARNING keystone.x [-] comma').timestamp).toISOString(), '2025-05-14T11:26:23.154Z');
  assert.equal(new Date(value('2024-07-01T12:00:00.123456+02:00 1 INFO nova.x [-] isotime').timestamp).toISOString(), '2024-07-01T10:00:00.123Z', 'an explicit offset wins');
  const syslog = 'Dec 31 23:59:59 host nova-api[1]: INFO nova.x [-] new year';
  assert.equal(new Date(value(fromFile(syslog, 0, undefined, { timestamp: '2025-01-01T00:00:05Z' })).timestamp).toISOString(), '2024-12-31T23:59:59.000Z', 'a December line shipped in January is last year\'s');
  assert.equal(new Date(value(fromFile(syslog, 0, undefined, { timestamp: '2024-12-31T23:59:59Z' })).timestamp).toISOString(), '2024-12-31T23:59:59.000Z');
});

/** what each line of invalid/nova-api.log breaks, in order (the joiner folds the lone File line into the line before it) */
const expectedRejections: { code: string; rule: string; path?: string; message: RegExp }[] = [
  { code: 'RECORD_UNPARSABLE', rule: 'oslo-header', message: /^the line is not an oslo\.log line: expected "DATE TIME\[\.mmm\] \[PID\] LEVEL logger message".*got "this is not an oslo\.log line"/ },
  { code: 'RECORD_INVALID', rule: 'date-time', path: '/timestamp', message: /^the oslo\.log time "2023-02-30 10:00:00\.000" is not a real date-time/ },
  { code: 'RECORD_UNPARSABLE', rule: 'oslo-header', message: /continuation line/ },
  { code: 'RECORD_INVALID', rule: 'oslo-json', path: '/name', message: /`name` is required but missing; `levelname` \(or FluentFormatter's `level`\) is required but missing/ },
  { code: 'RECORD_INVALID', rule: 'oslo-json', path: '/traceback', message: /`traceback` must be a string, a list of strings or null/ },
  { code: 'RECORD_UNPARSABLE', rule: 'json', message: /not valid JSON|before it is complete \(truncated\?\)/ },
  { code: 'RECORD_INVALID', rule: 'date-time', message: /needs `created` \(epoch seconds\) or `asctime`\/`time` as a date-time, got none of them/ },
];

test('each invalid fixture line is rejected for what it breaks, in words that name the expectation, the value and the origin', () => {
  const file = '/var/log/nova/nova-api.log';
  const lines = readFileSync(path.join(fixtureDir, 'invalid/nova-api.log'), 'utf8').split('\n').filter((l) => l !== '');
  assert.equal(lines.length, expectedRejections.length);
  let offset = 0;
  lines.forEach((line, index) => {
    const expected = expectedRejections[index]!;
    const got = reasons(fromFile(line, offset, file));
    assert.equal(got.length, 1, `line ${index + 1}: ${JSON.stringify(got)}`);
    const [reason] = got as [RejectionReason];
    assert.equal(reason.code, expected.code, `line ${index + 1}`);
    assert.equal(reason.rule, expected.rule, `line ${index + 1}`);
    if (expected.path !== undefined) assert.equal(reason.path, expected.path, `line ${index + 1}`);
    assert.match(reason.message, expected.message, `line ${index + 1}: ${reason.message}`);
    assert.ok(reason.message.endsWith(`(line at byte ${offset} of ${file} on host ${host})`), reason.message);
    offset += Buffer.byteLength(line) + 1;
  });
  assert.equal(reasons('')[0]?.rule, 'oslo-header');
});

test('every fixture file, joined, normalises with no rejects and survives Avro unchanged', () => {
  const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
  let count = 0;
  for (const name of readdirSync(fixtureDir)) {
    if (statSync(path.join(fixtureDir, name)).isDirectory() || !name.includes('.log')) continue;
    for (const envelope of joinedEvents(name)) {
      const normalised = record({ ...envelope, '@timestamp': '2024-07-01T00:00:00Z' });
      assert.equal(normalised.topic, 'ops.logs');
      assert.match(normalised.id, /^[0-9a-f]{32}$/);
      assert.deepEqual(plain(codec.decode(codec.encode(normalised.value as unknown as Record<string, unknown>))), plain(normalised.value), `${name}: ${envelope.message.slice(0, 80)}`);
      count += 1;
    }
  }
  assert.ok(count >= 40, `${count} events`);
});

test('ids and keys: a replay keeps its id; the key is the global request id, else the request id, else the id', () => {
  const line = realLines[16]!.line;
  assert.equal(record(fromFile(line, 512)).id, record(fromFile(line, 512)).id);
  assert.notEqual(record(fromFile(line, 512)).id, record(fromFile(line, 513)).id);
  assert.equal(record(fromFile(line, 512)).key, 'req-e4e454d2-8922-4a2a-abd9-9b67af159199', 'the global id: every local request it spans on one partition');
  const local = record(realLines[12]!.line);
  assert.equal(local.key, 'req-d6a41187-2495-46bf-a424-ab7195c0ecb1');
  const none = record('2017-05-16 00:00:10.302 2931 INFO nova.virt.libvirt.driver [-] x');
  assert.equal(none.key, none.id);
  const viaHttp = (message: string) => record(buildEnvelope({ message, inputType: 'http' })).id;
  assert.equal(viaHttp(line), viaHttp(line));
  assert.notEqual(viaHttp(`${line}\nTraceback (most recent call last):`), viaHttp(line), 'without file coordinates the whole event is the identity');
});

test('the record has exactly the Avro fields, in schema order', () => {
  const fields = (codec.type as unknown as { fields: { name: string }[] }).fields.map((f) => f.name);
  assert.deepEqual(Object.keys(value(realLines[6]!.line)), fields);
});

test('hostile messages take linear time: no regular expression here backtracks without bound', () => {
  const long = (n: number) => [
    `2024-01-01 00:00:00.000 1 WARNING nova.x [-] ${'1,'.repeat(n)}x`,
    `2024-01-01 00:00:00.000 1 WARNING nova.x [-] ${': a.'.repeat(n)}`,
    `2024-01-01 00:00:00.000 1 DEBUG nova.x [-] ${'f /a.py:1 '.repeat(n)}`,
    `2024-01-01 00:00:00.000 1 INFO nova.x [-] ${'10.0.0.1 '.repeat(n)}"GET`,
    `${'2024-01-01 00:00:00 '.repeat(n)}`,
    `[${'req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c '.repeat(n)}`,
  ];
  const time = (n: number) => {
    const started = process.hrtime.bigint();
    for (const line of long(n)) osloLogNormaliser.normalise(fromFile(line));
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  time(2_000);
  const small = time(5_000);
  const large = time(50_000);
  assert.ok(large < Math.max(400, small * 40), `10× the input took ${large.toFixed(1)} ms against ${small.toFixed(1)} ms`);
});

const osloParts = fc.record({
  time: fc.constantFrom('2024-02-29 14:03:11.402', '2023-13-01 00:00:00.000', '2012-07-05 22:03:53', '2025-05-14 11:26:23,154', 'Jun 18 15:45:42 h u[1]:'),
  pid: fc.constantFrom('', '4021 ', '0 '),
  level: fc.constantFrom('INFO', 'ERROR', 'DEBUG', 'TRACE', 'WARNING', 'NOPE'),
  bracket: fc.oneof(fc.constantFrom('[-] ', '[None req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c - - - - - -] ', '[req-x', '[] ', '[instance: 0a6f5c2e-4b1d-4e8f-9a3c-7d2e1f0b9c8a] ', ''), fc.string({ maxLength: 30 }).map((s) => `[${s}] `)),
  message: fc.string({ maxLength: 200 }),
  continuation: fc.array(fc.oneof(fc.string({ maxLength: 60 }), fc.constant('Traceback (most recent call last):')), { maxLength: 4 }),
});

test('any message gives one record or one rejection with reasons, never a throw', () => {
  const message = fc.oneof(
    fc.string({ maxLength: 400 }),
    fc.json(),
    osloParts.map((p) => [`${p.time} ${p.pid}${p.level} nova.compute.manager ${p.bracket}${p.message}`, ...p.continuation].join('\n')),
    fc.constantFrom(...realLines.map((l) => l.line)).chain((line) => fc.nat(line.length).map((cut) => line.slice(0, cut))),
  );
  fc.assert(
    fc.property(message, fc.boolean(), fc.constantFrom(undefined, 'Europe/Paris', 'nowhere'), (text, viaFile, timezone) => {
      const fields = timezone === undefined ? undefined : { timezone };
      const envelope = viaFile ? fromFile(text, 42, undefined, fields ? { fields } : {}) : buildEnvelope({ message: text, inputType: 'http', ...(fields ? { fields } : {}) });
      const result = osloLogNormaliser.normalise(envelope);
      assert.equal(result.records.length + result.rejections.length, 1);
      for (const rejection of result.rejections) {
        assert.ok(rejection.reasons.length > 0);
        for (const reason of rejection.reasons) assert.ok(reason.code.startsWith('RECORD_') && reason.message.length > 0);
      }
      for (const normalised of result.records) codec.encode(normalised.value);
    }),
    { numRuns: 2000 },
  );
});
