import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { acceleratorFraming, renderAcceleratorRecord } from '../../../../connectors/sinks/apel/render/accelerator-json.js';
import { isAscii, jsonString, keyValueText, transliterate, xmlAttribute, xmlText } from '../../../../connectors/sinks/apel/render/ascii.js';
import { isoTime, pythonFloat } from '../../../../connectors/sinks/apel/render/checks.js';
import { cloudFraming, renderCloudRecord } from '../../../../connectors/sinks/apel/render/cloud-text.js';
import { assemble, messageBytes } from '../../../../connectors/sinks/apel/render/framing.js';
import { ipFraming, renderIpRecord } from '../../../../connectors/sinks/apel/render/ip-json.js';
import { renderStarRecord, starFraming } from '../../../../connectors/sinks/apel/render/star-xml.js';
import { isTallyError } from '../../../../pipeline/errors.js';
import { debianPython } from '../../../interop/apel/tools.js';
import { accelerator, ip, s, storage, vm } from './records.js';

const caso = { zeroDurationsAsOne: true };
const unrenderable = (field: string) => (error: unknown) => isTallyError(error, 'RECORD_UNRENDERABLE') && error.message.startsWith(`${field}:`);

describe('cloud v0.4 key: value text', () => {
  test("cASO's expected_message_cloud, byte for byte", () => {
    const records = [vm(), vm({ vm_uuid: 'a53738e1-13eb-4047-800c-067d14ce3d22', machine_name: 'VM Name 2', fqan: 'VO 2 FQAN', status: 'completed', start_time: s(1684533546), wall_duration_seconds: 518400, cpu_duration_seconds: 4147200 })];
    const body = assemble(cloudFraming, records.map((r) => renderCloudRecord(r, caso).text));
    assert.equal(
      body,
      [
        'APEL-cloud-message: v0.4',
        'CloudComputeService: Fake Cloud Service',
        'CloudType: caso/5.2.2 (OpenStack)',
        'CpuCount: 8',
        'CpuDuration: 3456000',
        'Disk: 250',
        'EndTime: 1685051946',
        'FQAN: VO 1 FQAN',
        'GlobalUserName: User DN',
        'ImageId: b39a8ed9-e15d-4b71-ada2-daf88efbac0a',
        'LocalGroupId: 03b6a6c4-cf2b-48b9-82f1-69c52b9f30af',
        'LocalUserId: a4519d7d-f60a-4908-9d63-7d9e17422188',
        'MachineName: VM Name 1',
        'Memory: 16',
        'PublicIPCount: 7',
        'SiteName: TEST-Site',
        'StartTime: 1684619946',
        'Status: started',
        'VMUUID: 721cf1db-0e0f-4c24-a5ea-cd75e0f303e8',
        'WallDuration: 432000',
        '%%',
        'CloudComputeService: Fake Cloud Service',
        'CloudType: caso/5.2.2 (OpenStack)',
        'CpuCount: 8',
        'CpuDuration: 4147200',
        'Disk: 250',
        'EndTime: 1685051946',
        'FQAN: VO 2 FQAN',
        'GlobalUserName: User DN',
        'ImageId: b39a8ed9-e15d-4b71-ada2-daf88efbac0a',
        'LocalGroupId: 03b6a6c4-cf2b-48b9-82f1-69c52b9f30af',
        'LocalUserId: a4519d7d-f60a-4908-9d63-7d9e17422188',
        'MachineName: VM Name 2',
        'Memory: 16',
        'PublicIPCount: 7',
        'SiteName: TEST-Site',
        'StartTime: 1684533546',
        'Status: completed',
        'VMUUID: a53738e1-13eb-4047-800c-067d14ce3d22',
        'WallDuration: 518400',
        '',
      ].join('\n'),
    );
    assert.equal(messageBytes(cloudFraming, 2, records.map((r) => renderCloudRecord(r, caso).text.length).reduce((a, b) => a + b)), body.length);
  });

  test('a running VM: EndTime 0, Benchmark as a Python float, every other key sorted; a VM that never ran: WallDuration 0 → 1 as cASO writes it', () => {
    const running = vm({ end_time: null, benchmark_type: 'HEPSPEC', benchmark_value: 12, cpu_count: 2, memory_mb: 2048, disk_gb: 20, public_ip_count: 0, image_id: null, global_user_name: null, wall_duration_seconds: 3600, cpu_duration_seconds: 7200, suspend_duration_seconds: 5, record_create_time: s(1704877200), network_type: 'public', network_inbound: 3, network_outbound: 4, storage_record_id: 'vol-1', local_user_id: 'u1', local_group_id: 'p1', fqan: 'vo.example.org', machine_name: 'vm-1' });
    assert.equal(
      renderCloudRecord(running, caso).text,
      [
        'Benchmark: 12.0',
        'BenchmarkType: HEPSPEC',
        'CloudComputeService: Fake Cloud Service',
        'CloudType: caso/5.2.2 (OpenStack)',
        'CpuCount: 2',
        'CpuDuration: 7200',
        'Disk: 20',
        'EndTime: 0',
        'FQAN: vo.example.org',
        'LocalGroupId: p1',
        'LocalUserId: u1',
        'MachineName: vm-1',
        'Memory: 2048',
        'NetworkInbound: 3',
        'NetworkOutbound: 4',
        'NetworkType: public',
        'PublicIPCount: 0',
        'RecordCreateTime: 1704877200',
        'SiteName: TEST-Site',
        'StartTime: 1684619946',
        'Status: started',
        'StorageRecordId: vol-1',
        'SuspendDuration: 5',
        'VMUUID: 721cf1db-0e0f-4c24-a5ea-cd75e0f303e8',
        'WallDuration: 3600',
      ].join('\n'),
    );
    const neverRan = renderCloudRecord(vm({ cpu_count: 0, cpu_duration_seconds: null, wall_duration_seconds: 0, status: 'completed' }), caso).text;
    assert.match(neverRan, /^WallDuration: 1$/m);
    assert.doesNotMatch(neverRan, /CpuDuration/);
    assert.match(renderCloudRecord(vm({ wall_duration_seconds: 0 }), { zeroDurationsAsOne: false }).text, /^WallDuration: 0$/m);
    const fractional = renderCloudRecord(vm({ cpu_count: 1.5, benchmark_value: 10.25 }), caso).text;
    assert.match(fractional, /^Benchmark: 10\.25$/m);
    assert.match(fractional, /^CpuCount: 1\.5$/m);
    assert.doesNotMatch(renderCloudRecord(vm({ status: 'completed', end_time: null }), caso).text, /EndTime/, 'a completed VM without an end time does not claim 1970');
  });

  test('times are whole epoch seconds; non-ASCII is transliterated, line breaks and %% cannot split a record, nulls are left out', () => {
    const text = renderCloudRecord(vm({ start_time: 1684619946999, machine_name: 'vm-\u00e9t\u00e9 \u2014 caf\u00e9\n%% busy\r\n', global_user_name: 'J\u00fcrgen Gro\u00df \u{1f600}', fqan: '/vo.example.org/Role=NULL', image_id: '', local_user_id: null }), caso).text;
    assert.match(text, /^StartTime: 1684619946$/m);
    assert.match(text, /^MachineName: vm-ete - cafe % busy$/m);
    assert.match(text, /^GlobalUserName: Jurgen Gross \?$/m);
    assert.match(text, /^FQAN: \/vo\.example\.org\/Role=NULL$/m);
    assert.doesNotMatch(text, /ImageId|LocalUserId/);
    assert.ok(isAscii(text));
    assert.equal(text.split('\n').filter((l) => !/^[A-Za-z]+: \S/.test(l)).length, 0, 'every line is Key: Value');
    assert.equal(renderCloudRecord(vm({ machine_name: 'caf\u00e9' }), caso).transliterated, 1);
  });

  test('what APEL would refuse is refused here, naming the field', () => {
    assert.throws(() => renderCloudRecord(vm({ vm_uuid: 'none' }), caso), unrenderable('VMUUID'));
    assert.throws(() => renderCloudRecord(vm({ site_name: 'Z\u00fcrich' }), caso), unrenderable('SiteName'));
    assert.throws(() => renderCloudRecord(vm({ vm_uuid: 'a\nb' }), caso), unrenderable('VMUUID'));
    assert.throws(() => renderCloudRecord(vm({ memory_mb: 16.5 }), caso), unrenderable('Memory'));
    assert.throws(() => renderCloudRecord(vm({ end_time: s(99_999_999_999_999) }), caso), unrenderable('EndTime'));
    assert.throws(() => renderCloudRecord(vm({ start_time: -1000 }), caso), unrenderable('StartTime'));
    assert.throws(() => renderCloudRecord(vm({ cpu_count: -2 }), caso), unrenderable('CpuCount'));
    assert.throws(() => renderCloudRecord(vm({ benchmark_value: Number.NaN }), caso), unrenderable('Benchmark'));
    assert.throws(() => renderCloudRecord(vm({ benchmark_type: 'x'.repeat(51) }), caso), unrenderable('BenchmarkType'));
    assert.throws(() => renderCloudRecord(vm({ machine_name: 'x'.repeat(256) }), caso), unrenderable('MachineName'));
  });
});

describe('public IP JSON', () => {
  test("cASO's expected_message_ip, byte for byte (json.dumps separators, cASO's key order and uuid)", () => {
    const second = ip({ record_uuid: '5c50720e-a653-4d70-9b0e-d4388687fcbc', local_user: '3391a44e-3728-478d-abde-b86c25356571', global_user_name: 'User 2 DN', local_group: '2dae43c4-1889-4e63-b172-d4e99381e30a', fqan: 'VO 2 FQAN', ip_version: 6, ip_count: 20 });
    assert.equal(
      assemble(ipFraming, [ip(), second].map((r) => renderIpRecord(r, { includeUuid: true }).text)),
      '{"Type": "APEL Public IP message", "Version": "0.2", "UsageRecords": [{"SiteName": "TEST-Site", "CloudType": "caso/5.2.2 (OpenStack)", "CloudComputeService": "Fake Cloud Service", "uuid": "e3c5aeef-37b8-4332-ad9f-9d068f156dc2", "LocalUser": "a4519d7d-f60a-4908-9d63-7d9e17422188", "GlobalUserName": "User 1 DN", "LocalGroup": "03b6a6c4-cf2b-48b9-82f1-69c52b9f30af", "FQAN": "VO 1 FQAN", "IPVersion": 4, "IPCount": 10, "MeasurementTime": 1685051946}, {"SiteName": "TEST-Site", "CloudType": "caso/5.2.2 (OpenStack)", "CloudComputeService": "Fake Cloud Service", "uuid": "5c50720e-a653-4d70-9b0e-d4388687fcbc", "LocalUser": "3391a44e-3728-478d-abde-b86c25356571", "GlobalUserName": "User 2 DN", "LocalGroup": "2dae43c4-1889-4e63-b172-d4e99381e30a", "FQAN": "VO 2 FQAN", "IPVersion": 6, "IPCount": 20, "MeasurementTime": 1685051946}]}',
    );
  });

  test('nulls left out, uuid optional, non-ASCII as \\uXXXX; IPVersion other than 4/6 refused', () => {
    assert.equal(
      renderIpRecord(ip({ local_user: null, global_user_name: null, fqan: 'v\u00e9 "q"', record_uuid: null, measurement_time: 1704888000999 }), { includeUuid: true }).text,
      '{"SiteName": "TEST-Site", "CloudType": "caso/5.2.2 (OpenStack)", "CloudComputeService": "Fake Cloud Service", "LocalGroup": "03b6a6c4-cf2b-48b9-82f1-69c52b9f30af", "FQAN": "v\\u00e9 \\"q\\"", "IPVersion": 4, "IPCount": 10, "MeasurementTime": 1704888000}',
    );
    assert.doesNotMatch(renderIpRecord(ip(), { includeUuid: false }).text, /uuid/);
    assert.throws(() => renderIpRecord(ip({ ip_version: 5 }), { includeUuid: true }), unrenderable('IPVersion'));
    assert.throws(() => renderIpRecord(ip({ ip_count: -1 }), { includeUuid: true }), unrenderable('IPCount'));
  });
});

describe('accelerator JSON', () => {
  test("cASO's expected_message_accelerator, byte for byte (ActiveDuration = AvailableDuration when not given)", () => {
    const second = accelerator({ count: 30, measurement_month: 2, model: 'Foobar A300' });
    assert.equal(
      assemble(acceleratorFraming, [accelerator(), second].map((r) => renderAcceleratorRecord(r).text)),
      '{"Type": "APEL-accelerator-message", "Version": "0.1", "UsageRecords": [{"SiteName": "TEST-Site", "CloudType": "caso/5.2.2 (OpenStack)", "CloudComputeService": "Fake Cloud Service", "AssociatedRecord": "99cf5d02-a573-46a1-b90d-0f7327126876", "GlobalUserName": "d4e547e6f298fe34389@foobar.eu", "FQAN": "VO 1 FQAN", "Count": 3, "AvailableDuration": 5000, "MeasurementMonth": 6, "MeasurementYear": 2022, "AssociatedRecordType": "cloud", "Type": "GPU", "Model": "Foobar A200", "ActiveDuration": 5000}, {"SiteName": "TEST-Site", "CloudType": "caso/5.2.2 (OpenStack)", "CloudComputeService": "Fake Cloud Service", "AssociatedRecord": "99cf5d02-a573-46a1-b90d-0f7327126876", "GlobalUserName": "d4e547e6f298fe34389@foobar.eu", "FQAN": "VO 1 FQAN", "Count": 30, "AvailableDuration": 5000, "MeasurementMonth": 2, "MeasurementYear": 2022, "AssociatedRecordType": "cloud", "Type": "GPU", "Model": "Foobar A300", "ActiveDuration": 5000}]}',
    );
  });

  test("fractional Count, Cores and Benchmark under APEL's key; type case fixed; what APEL's schema refuses is refused", () => {
    assert.equal(
      renderAcceleratorRecord(accelerator({ count: 0.5, cores: 64, benchmark_value: 1005, benchmark_type: 'hs06', active_duration_seconds: 600, accelerator_type: 'gpu' })).text,
      '{"SiteName": "TEST-Site", "CloudType": "caso/5.2.2 (OpenStack)", "CloudComputeService": "Fake Cloud Service", "AssociatedRecord": "99cf5d02-a573-46a1-b90d-0f7327126876", "GlobalUserName": "d4e547e6f298fe34389@foobar.eu", "FQAN": "VO 1 FQAN", "Count": 0.5, "AvailableDuration": 5000, "MeasurementMonth": 6, "MeasurementYear": 2022, "AssociatedRecordType": "cloud", "Type": "GPU", "Cores": 64, "Model": "Foobar A200", "Benchmark": 1005.0, "BenchmarkType": "hs06", "ActiveDuration": 600}',
    );
    assert.throws(() => renderAcceleratorRecord(accelerator({ accelerator_type: 'TPU' })), unrenderable('Type'));
    assert.throws(() => renderAcceleratorRecord(accelerator({ measurement_month: 13 })), unrenderable('MeasurementMonth'));
    assert.throws(() => renderAcceleratorRecord(accelerator({ measurement_year: 2099 }), new Date(Date.UTC(2026, 0, 1))), unrenderable('MeasurementYear'));
    assert.throws(() => renderAcceleratorRecord(accelerator({ model: null })), unrenderable('Model'));
    assert.throws(() => renderAcceleratorRecord(accelerator({ associated_record_type: 'vm' })), unrenderable('AssociatedRecordType'));
  });
});

describe('StAR XML', () => {
  test("cASO's storage message shape: namespace on the root, sr: on every element and attribute, ISO-8601 UTC times, ' />'", () => {
    assert.equal(
      assemble(starFraming, [renderStarRecord(storage()).text]),
      '<sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord"><sr:StorageUsageRecord><sr:RecordIdentity sr:createTime="2024-01-10T12:00:00+00:00" sr:recordId="5b2c8e1a-0000-4000-8000-000000000001" /><sr:StorageSystem>SITE-A</sr:StorageSystem><sr:Site>SITE-A</sr:Site><sr:SubjectIdentity><sr:LocalUser>u1</sr:LocalUser><sr:LocalGroup>p1</sr:LocalGroup><sr:Group>vo.example.org</sr:Group></sr:SubjectIdentity><sr:StartTime>2024-01-09T12:00:00+00:00</sr:StartTime><sr:EndTime>2024-01-10T12:00:00+00:00</sr:EndTime><sr:ResourceCapacityUsed>10737418240</sr:ResourceCapacityUsed></sr:StorageUsageRecord></sr:StorageUsageRecords>',
    );
  });

  test("every StAR field, cASO's escaping (S&amp;T, &#233;), group attributes namespace-qualified", () => {
    const xml = renderStarRecord(
      storage({ site: 'S&T', group: 'vo/\u00e9&<"x">', record_id: 'id "1"', create_time: s(1704888000) + 654, storage_share: 'pool-003', storage_media: 'disk', storage_class: 'replica', file_count: 42, directory_path: '/data', user_identity: 'user', sub_group: 'uk', role: 'poweruser1', group_attributes: [{ attribute_type: 'authority', value: '/O=Grid/CN=host' }], resource_capacity_allocated: 100, logical_capacity_used: 13617 }),
    ).text;
    assert.equal(
      xml,
      '<sr:StorageUsageRecord><sr:RecordIdentity sr:createTime="2024-01-10T12:00:00.654+00:00" sr:recordId="id &quot;1&quot;" /><sr:StorageSystem>SITE-A</sr:StorageSystem><sr:Site>S&amp;T</sr:Site><sr:StorageShare>pool-003</sr:StorageShare><sr:StorageMedia>disk</sr:StorageMedia><sr:StorageClass>replica</sr:StorageClass><sr:FileCount>42</sr:FileCount><sr:DirectoryPath>/data</sr:DirectoryPath><sr:SubjectIdentity><sr:LocalUser>u1</sr:LocalUser><sr:LocalGroup>p1</sr:LocalGroup><sr:UserIdentity>user</sr:UserIdentity><sr:Group>vo/&#233;&amp;&lt;"x"&gt;</sr:Group><sr:GroupAttribute sr:attributeType="subgroup">uk</sr:GroupAttribute><sr:GroupAttribute sr:attributeType="role">poweruser1</sr:GroupAttribute><sr:GroupAttribute sr:attributeType="authority">/O=Grid/CN=host</sr:GroupAttribute></sr:SubjectIdentity><sr:StartTime>2024-01-09T12:00:00+00:00</sr:StartTime><sr:EndTime>2024-01-10T12:00:00+00:00</sr:EndTime><sr:ResourceCapacityUsed>10737418240</sr:ResourceCapacityUsed><sr:ResourceCapacityAllocated>100</sr:ResourceCapacityAllocated><sr:LogicalCapacityUsed>13617</sr:LogicalCapacityUsed></sr:StorageUsageRecord>',
    );
    assert.throws(() => renderStarRecord(storage({ resource_capacity_used: 345876451382054092800 })), unrenderable('ResourceCapacityUsed'), "cASO's fixture value is over BIGINT: APEL's database would refuse the message");
    assert.throws(() => renderStarRecord(storage({ record_id: ' ' })), unrenderable('RecordId'));
  });
});

describe('ASCII', () => {
  test('transliteration and key: value cleaning', () => {
    assert.equal(transliterate('Ångström café naïve Æsir Øre Łódź straße “q” – …'), 'Angstrom cafe naive AEsir Ore Lodz strasse "q" - ...');
    assert.equal(transliterate('日本'), '??');
    assert.equal(keyValueText('  a\tb\u000bc\u001ed %%%% e  '), 'a b c d % e');
    assert.equal(xmlText('a\u0001b\ud800c'), 'a&#65533;b&#65533;c', 'characters XML cannot carry become U+FFFD');
    assert.equal(xmlAttribute('a\nb<"'), 'a&#10;b&lt;&quot;');
    assert.equal(pythonFloat(12), '12.0');
    assert.equal(pythonFloat(1e-7), '1e-07');
    assert.equal(isoTime('t', 0), '1970-01-01T00:00:00+00:00');
  });

  test("JSON strings escape exactly as Python's json.dumps (ensure_ascii) does", () => {
    const samples = ['plain', 'caf\u00e9', 'quote " backslash \\ slash /', 'tab\tnl\ncr\rbs\bff\f', '\u0000\u001f\u007f', 'emoji \u{1f600}', '\u2028\u2029', '日本語'];
    const python = spawnSync(debianPython, ['-c', 'import json,sys; print(json.dumps([json.dumps(s) for s in json.load(sys.stdin)]))'], { input: JSON.stringify(samples), encoding: 'utf8' });
    assert.equal(python.status, 0, python.stderr);
    assert.deepEqual(samples.map(jsonString), JSON.parse(python.stdout) as string[]);
  });
});
