import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { apelMessageNormaliser } from '../../../pipeline/normalise/apel-message.js';
import type { Normalised, NormalisedRecord } from '../../../pipeline/normalise/types.js';
import { apelFixture, apelFixtureNames, assertAsWritten, assertAvroRoundTrip, cloudTextRecords, fieldMapping, queueEnvelope } from './cloud-fixtures.js';

const normalise = (message: string): Normalised => apelMessageNormaliser.normalise(queueEnvelope(message));
const ofFixture = (name: string): Normalised => normalise(apelFixture(name));

/** What each fixture holds: its topic, how many records go on and how many are refused. */
const expected: Record<string, { topic: string; records: number; rejections: number }> = {
  'accelerator-accuuid.json': { topic: 'cloud.accelerator', records: 2, rejections: 0 },
  'accelerator.json': { topic: 'cloud.accelerator', records: 2, rejections: 0 },
  'cloud-bad-record.txt': { topic: 'cloud.vm', records: 3, rejections: 1 },
  'cloud-v0.2.txt': { topic: 'cloud.vm', records: 2, rejections: 0 },
  'cloud-v0.4-second-run.txt': { topic: 'cloud.vm', records: 1, rejections: 0 },
  'cloud-v0.4.txt': { topic: 'cloud.vm', records: 4, rejections: 0 },
  'energy-envelope.json': { topic: 'cloud.energy', records: 2, rejections: 0 },
  'energy.json': { topic: 'cloud.energy', records: 2, rejections: 0 },
  'ip-apel-v0.2.json': { topic: 'cloud.ip', records: 2, rejections: 0 },
  'ip-bad-record.json': { topic: 'cloud.ip', records: 2, rejections: 1 },
  'ip.json': { topic: 'cloud.ip', records: 2, rejections: 0 },
  'storage-apel.xml': { topic: 'cloud.storage', records: 2, rejections: 0 },
  'storage.xml': { topic: 'cloud.storage', records: 2, rejections: 0 },
};

function byVm(records: NormalisedRecord[], uuid: string): NormalisedRecord {
  const found = records.find((r) => r.value.vm_uuid === uuid);
  assert.ok(found, `no record for VM ${uuid}`);
  return found;
}

describe('apel-message: every fixture', () => {
  test('the fixture directory holds exactly the fixtures this test knows', () => {
    assert.deepEqual(apelFixtureNames(), Object.keys(expected).sort());
  });

  for (const [name, want] of Object.entries(expected)) {
    test(`${name}: ${want.records} records on ${want.topic}, ${want.rejections} refused; every record fits Avro`, () => {
      const out = ofFixture(name);
      assert.equal(out.records.length, want.records, JSON.stringify(out.rejections));
      assert.equal(out.rejections.length, want.rejections);
      for (const record of out.records) {
        assert.equal(record.topic, want.topic);
        assert.match(record.id, /^[0-9a-f]{32}$/);
        assert.equal(record.value.id, record.id);
        assertAvroRoundTrip(record);
      }
    });
  }
});

describe('apel-message: cloud key: value text', () => {
  test('cASO v0.4 message: every key is in its record, values exactly as written', () => {
    const text = apelFixture('cloud-v0.4.txt');
    const out = normalise(text);
    const written = cloudTextRecords(text);
    assert.equal(out.records.length, written.length);
    out.records.forEach((record, i) => assertAsWritten(record, written[i] as Record<string, string>));
  });

  test('a running VM (EndTime: 0) has no end time, is running, and is filed under the month of StartTime + WallDuration', () => {
    const vm = byVm(ofFixture('cloud-v0.4.txt').records, '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11');
    assert.equal(vm.value.end_time, null);
    assert.equal(vm.value.running, true);
    assert.equal(vm.value.measurement_time, (1710750600 + 185400) * 1000);
    assert.equal(vm.value.accounting_month, '2024-03');
  });

  test('derived hours: CPU and wall hours, HEPSPEC06-hours = CPU hours × benchmark, efficiency', () => {
    const vm = byVm(ofFixture('cloud-v0.4.txt').records, '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11');
    assert.equal(vm.value.cpu_hours, 741600 / 3600);
    assert.equal(vm.value.wall_hours, 185400 / 3600);
    assert.equal(vm.value.core_wall_hours, (185400 / 3600) * 4);
    assert.equal(vm.value.normalised_cpu_hours, (741600 / 3600) * 10.5);
    assert.equal(vm.value.cpu_efficiency, 1);
    const noBenchmark = byVm(ofFixture('cloud-v0.4.txt').records, 'a53738e1-13eb-4047-800c-067d14ce3d22');
    assert.equal(noBenchmark.value.normalised_cpu_hours, null);
    assert.equal(noBenchmark.value.normalised_wall_hours, null);
  });

  test('a completed VM is filed under the month of its EndTime', () => {
    const vm = byVm(ofFixture('cloud-v0.4.txt').records, 'a53738e1-13eb-4047-800c-067d14ce3d22');
    assert.equal(vm.value.running, false);
    assert.equal(vm.value.end_time, 1709618400000);
    assert.equal(vm.value.measurement_time, 1709618400000);
  });

  test('a VM with zero CPUs: no CpuDuration, so no CPU hours or efficiency; WallDuration as cASO wrote it (1 for 0)', () => {
    const vm = byVm(ofFixture('cloud-v0.4.txt').records, '1f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c12');
    assert.equal(vm.value.cpu_count, 0);
    assert.equal(vm.value.cpu_duration_seconds, null);
    assert.equal(vm.value.cpu_hours, null);
    assert.equal(vm.value.cpu_efficiency, null);
    assert.equal(vm.value.wall_duration_seconds, 1);
  });

  test('non-ASCII names come through unchanged', () => {
    const vm = byVm(ofFixture('cloud-v0.4.txt').records, '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11');
    assert.equal(vm.value.machine_name, 'vm-été-Ωmega');
    assert.equal(vm.value.global_user_name, 'José Müller');
  });

  test('VO, group and role derived from the FQAN as APEL derives them', () => {
    const records = ofFixture('cloud-v0.4.txt').records;
    const running = byVm(records, '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11').value;
    assert.deepEqual([running.vo, running.vo_group, running.vo_role], ['vo.access.egi.eu', '/vo.access.egi.eu', 'Role=NULL']);
    const suspended = byVm(records, '5c50720e-a653-4d70-9b0e-d4388687fcbc').value;
    assert.deepEqual([suspended.vo, suspended.vo_group, suspended.vo_role], ['vo.access.egi.eu', '/vo.access.egi.eu/biomed', 'Role=VM-Manager']);
    const plain = byVm(records, 'a53738e1-13eb-4047-800c-067d14ce3d22').value;
    assert.deepEqual([plain.vo, plain.vo_group, plain.vo_role], ['vo.example.org', null, null]);
  });

  test('a VM reported twice with growing durations has one id; the later snapshot carries the larger durations', () => {
    const first = byVm(ofFixture('cloud-v0.4.txt').records, '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11');
    const second = byVm(ofFixture('cloud-v0.4-second-run.txt').records, '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11');
    assert.equal(second.id, first.id);
    assert.ok((second.value.wall_duration_seconds as number) > (first.value.wall_duration_seconds as number));
    assert.ok((second.value.cpu_duration_seconds as number) > (first.value.cpu_duration_seconds as number));
  });

  test('the same VM in the next month is another record, as in APEL (one row per VM and month)', () => {
    const april = apelFixture('cloud-v0.4-second-run.txt').replace('WallDuration: 271800', `WallDuration: ${271800 + 14 * 86400}`);
    const [march] = ofFixture('cloud-v0.4-second-run.txt').records;
    const [next] = normalise(april).records;
    assert.equal(next?.value.accounting_month, '2024-04');
    assert.notEqual(next?.id, march?.id);
  });

  test('the id depends on site, service, VM and month only', () => {
    const base = 'APEL-cloud-message: v0.4\nSiteName: S\nCloudComputeService: C\nVMUUID: v\nStartTime: 1710750600\n';
    const id = (extra: string) => normalise(base + extra).records[0]?.id;
    assert.equal(id('WallDuration: 10\nCpuCount: 1\nMachineName: a'), id('WallDuration: 20\nCpuCount: 2\nMachineName: b\nStatus: started'));
    assert.notEqual(id(''), normalise(base.replace('SiteName: S', 'SiteName: T')).records[0]?.id);
    assert.notEqual(id(''), normalise(base.replace('CloudComputeService: C', 'CloudComputeService: D')).records[0]?.id);
    assert.notEqual(id(''), normalise(base.replace('VMUUID: v', 'VMUUID: w')).records[0]?.id);
  });

  test('a v0.2 header message (cASO ≤ 3.0.0 field order, `%%` after every record, no EndTime while running)', () => {
    const text = apelFixture('cloud-v0.2.txt');
    const out = normalise(text);
    assert.deepEqual(out.rejections, []);
    const written = cloudTextRecords(text);
    out.records.forEach((record, i) => {
      assertAsWritten(record, written[i] as Record<string, string>);
      assert.equal(record.value.cloud_compute_service, null);
      assert.equal((record.value.source as { format: string }).format, 'APEL-cloud-message: v0.2');
    });
    const running = byVm(out.records, '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11');
    assert.equal(running.value.running, true);
    assert.equal(running.value.end_time, null);
  });

  test('one bad record among good ones: it alone is refused, with every reason, as a one-record message; its siblings go on', () => {
    const text = apelFixture('cloud-bad-record.txt');
    const out = normalise(text);
    assert.deepEqual(
      out.records.map((r) => r.value.vm_uuid),
      ['0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11', '1f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c12', '5c50720e-a653-4d70-9b0e-d4388687fcbc'],
    );
    const [rejection] = out.rejections;
    assert.ok(rejection);
    const reason = (path: string) => rejection.reasons.find((r) => r.path === path);
    assert.deepEqual(rejection.reasons.map((r) => [r.code, r.rule, r.path]).sort(), [
      ['RECORD_INVALID', 'minimum', '/WallDuration'],
      ['RECORD_INVALID', 'type', '/Memory'],
    ]);
    assert.match(reason('/Memory')?.message ?? '', /^`Memory` must be an integer, got "4096.0"; write it as plain decimal digits, as APEL reads integers: 4096 \(\/var\/spool\/apel\/outgoing\/openstack\/65fadb40\/65fadb6a0a1b2c on host .*, record 2 of 4 at line 24\)$/);
    assert.match(reason('/WallDuration')?.message ?? '', /^`WallDuration` must be at least 0, got "-367200"/);
    const ownText = text.split('\n%%\n')[1] as string;
    assert.equal(rejection.original, `APEL-cloud-message: v0.4\n${ownText}\n`);
    // the dead letter is a message of its own: replayed after a fix, it goes through
    const fixed = normalise((rejection.original as string).replace('4096.0', '4096').replace('-367200', '367200'));
    assert.equal(fixed.records.length, 1);
    assert.equal(fixed.records[0]?.value.vm_uuid, 'a53738e1-13eb-4047-800c-067d14ce3d22');
  });

  test('a message of one record that is refused is refused whole (the dead letter keeps the original bytes)', () => {
    const out = normalise('APEL-cloud-message: v0.4\nSiteName: S\n');
    assert.equal(out.records.length, 0);
    assert.equal(out.rejections.length, 1);
    assert.equal(out.rejections[0]?.original, undefined);
    assert.match(out.rejections[0]?.reasons[0]?.message ?? '', /^`VMUUID` is required in a cloud record but missing/);
  });

  test('a message without a record is refused, not dropped silently', () => {
    for (const empty of ['APEL-cloud-message: v0.4\n', `APEL-cloud-message: v0.4\n${'%%\n'.repeat(1000)}`, '{"Type": "APEL Public IP message", "Version": "0.2", "UsageRecords": []}']) {
      const out = normalise(empty);
      assert.equal(out.records.length, 0);
      assert.equal(out.rejections[0]?.reasons[0]?.code, 'RECORD_INVALID', empty.slice(0, 40));
      assert.equal(out.rejections[0]?.reasons[0]?.rule, 'no-records');
    }
  });

  test('XML nested deeper than StAR ever is refused before it is walked', () => {
    const deep = (n: number) => `<sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord">${'<sr:x>'.repeat(n)}${'</sr:x>'.repeat(n)}</sr:StorageUsageRecords>`;
    const out = normalise(deep(100_000));
    assert.equal(out.rejections[0]?.reasons[0]?.code, 'RECORD_UNPARSABLE');
    assert.match(out.rejections[0]?.reasons[0]?.message ?? '', /nested more than 64 elements deep/);
  });

  test('a message that is not APEL is refused whole, saying what was expected', () => {
    const out = normalise('hello world');
    assert.equal(out.records.length, 0);
    assert.equal(out.rejections[0]?.reasons[0]?.code, 'RECORD_UNPARSABLE');
    assert.match(out.rejections[0]?.reasons[0]?.message ?? '', /not an APEL cloud message header: expected `APEL-cloud-message: v0.4`/);
  });

  test('a VM with nothing to place it in a month is refused with the rule', () => {
    const out = normalise('APEL-cloud-message: v0.4\nSiteName: S\nVMUUID: v\nEndTime: 0\n');
    assert.equal(out.rejections[0]?.reasons[0]?.rule, 'accounting-month');
  });

  test('durations that push the measurement past the year 9999 are refused with the rule, not left to fail in Avro', () => {
    const out = normalise('APEL-cloud-message: v0.4\nSiteName: S\nVMUUID: v\nStartTime: 1710750600\nWallDuration: 9007199254740991\n');
    assert.equal(out.rejections[0]?.reasons[0]?.rule, 'accounting-month');
    assert.match(out.rejections[0]?.reasons[0]?.message ?? '', /is after the year 9999, so the record has no accounting month; are the durations in milliseconds\?/);
  });

  test('RecordCreateTime places a running VM; a completed VM with EndTime 0 falls back to the next rule', () => {
    const created = normalise('APEL-cloud-message: v0.4\nSiteName: S\nVMUUID: v\nStartTime: 1706000000\nWallDuration: 10\nRecordCreateTime: 1709251200\n').records[0];
    assert.equal(created?.value.accounting_month, '2024-03');
    const completed = normalise('APEL-cloud-message: v0.4\nSiteName: S\nVMUUID: v\nStatus: completed\nEndTime: 0\nStartTime: 1709251200\n').records[0];
    assert.equal(completed?.value.measurement_time, 1709251200000);
  });
});

describe('apel-message: public IP, accelerator, StAR and energy messages', () => {
  test('cASO IP message ("Version": "0.2", uuid key): values exactly as written', () => {
    const text = apelFixture('ip.json');
    const out = normalise(text);
    const written = (JSON.parse(text) as { UsageRecords: Record<string, unknown>[] }).UsageRecords;
    out.records.forEach((record, i) => assertAsWritten(record, written[i] as Record<string, unknown>));
    assert.equal((out.records[0]?.value.source as { format: string }).format, 'APEL Public IP message 0.2');
  });

  test('APEL draft IP message ("Version": "v0.2", LocalUser and GlobalUserName given)', () => {
    const text = apelFixture('ip-apel-v0.2.json');
    const out = normalise(text);
    const written = (JSON.parse(text) as { UsageRecords: Record<string, unknown>[] }).UsageRecords;
    out.records.forEach((record, i) => assertAsWritten(record, written[i] as Record<string, unknown>));
  });

  test('IP id: a new run (new random uuid, new count) in the same month replaces; another project does not', () => {
    const text = apelFixture('ip.json');
    const [a, b] = normalise(text).records;
    const rerun = JSON.parse(text) as { UsageRecords: Record<string, unknown>[] };
    for (const r of rerun.UsageRecords) Object.assign(r, { uuid: '00000000-0000-4000-8000-000000000000', IPCount: 99, MeasurementTime: (r.MeasurementTime as number) + 3600 });
    const [a2] = normalise(JSON.stringify(rerun)).records;
    assert.equal(a2?.id, a?.id);
    assert.notEqual(a?.id, b?.id);
  });

  test('a bad IP record among good ones is refused alone, framed as a one-record IP message', () => {
    const out = ofFixture('ip-bad-record.json');
    const [rejection] = out.rejections;
    assert.deepEqual(rejection?.reasons.map((r) => [r.rule, r.path]).sort(), [
      ['enum', '/IPVersion'],
      ['minimum', '/IPCount'],
    ]);
    assert.match(rejection?.reasons.find((r) => r.path === '/IPVersion')?.message ?? '', /`IPVersion` must be one of 4, 6, got 5 \(.*record 2 of 3 at UsageRecords\[1\]\)$/);
    const framed = JSON.parse(rejection?.original as string) as { Type: string; Version: string; UsageRecords: unknown[] };
    assert.equal(framed.Type, 'APEL Public IP message');
    assert.equal(framed.UsageRecords.length, 1);
  });

  test('accelerator message: values exactly as written, benchmark_value read as Benchmark, accelerator hours', () => {
    const text = apelFixture('accelerator.json');
    const out = normalise(text);
    const written = (JSON.parse(text) as { UsageRecords: Record<string, unknown>[] }).UsageRecords;
    out.records.forEach((record, i) => assertAsWritten(record, written[i] as Record<string, unknown>));
    const [v100, mi210] = out.records;
    assert.equal(v100?.value.vendor, 'NVIDIA');
    assert.equal(v100?.value.accelerator_hours, (185400 / 3600) * 2);
    assert.equal(v100?.value.normalised_accelerator_hours, null);
    assert.equal(v100?.value.accounting_month, '2024-03');
    assert.equal(v100?.value.measurement_time, Date.UTC(2024, 2, 1));
    assert.equal(mi210?.value.benchmark_value, 1.5);
    assert.equal(mi210?.value.normalised_accelerator_hours, (367200 / 3600) * 1.5);
  });

  test('AccUUID (cASO 4.0.0–5.2.1) and AssociatedRecord give the same records', () => {
    const strip = (records: NormalisedRecord[]) => records.map((r) => ({ ...r.value, source: null }));
    assert.deepEqual(strip(ofFixture('accelerator-accuuid.json').records), strip(ofFixture('accelerator.json').records));
  });

  test('cASO StAR message: values exactly as written (entities decoded), microsecond times without offset read as UTC', () => {
    const out = ofFixture('storage.xml');
    const [volume] = out.records;
    assertAsWritten(volume as NormalisedRecord, {
      RecordId: '5b2c8e1a-0000-4000-8000-000000000001',
      CreateTime: '2024-03-20T12:00:00.654321',
      StorageSystem: 'CESGA-CLOUD-OpenStack',
      Site: 'CESGA-CLOUD',
      LocalUser: '2b6c1f0e8d9a4b7c9e0f1a2b3c4d5e6f',
      LocalGroup: '6f1e0b5c2a0d4c5e9b3f7a8d1c2e3f4a',
      UserIdentity: 'José Müller',
      Group: '/vo.access.egi.eu/Role=NULL/Capability=NULL',
      StartTime: '2024-03-19T12:00:00',
      EndTime: '2024-03-20T12:00:00.654321',
      ResourceCapacityUsed: '107374182400',
    });
    assert.equal(volume?.value.capacity_gb, 100);
    assert.equal(volume?.value.vo, 'vo.access.egi.eu');
    assert.equal(volume?.value.accounting_month, '2024-03');
  });

  test('StAR as APEL writes it: group attributes, media, file count, logical capacity, a record id with a leading space', () => {
    const [atlas, tape] = ofFixture('storage-apel.xml').records;
    assertAsWritten(atlas as NormalisedRecord, {
      RecordId: 'c698c8b6-0a24-4a8e-b2d9-5f8a3a0c2f6b',
      CreateTime: '2016-06-09T09:42:15Z',
      StorageSystem: 'srm.grid.example.ac.uk',
      Site: 'EXAMPLE-SITE',
      StorageShare: 'atlasscratchdisk',
      StorageMedia: 'disk',
      FileCount: '346298',
      Group: 'atlas',
      SubGroup: 'uk',
      Role: 'production',
      StartTime: '2016-06-08T09:42:15Z',
      EndTime: '2016-06-09T09:42:15Z',
      ResourceCapacityUsed: '26770352879563',
      ResourceCapacityAllocated: '30000000000000',
      LogicalCapacityUsed: '26770352879563',
    });
    assert.deepEqual(atlas?.value.group_attributes, [{ attribute_type: 'authority', value: '/C=UK/O=eScience/CN=voms.example.ac.uk' }]);
    assert.equal(tape?.value.record_id, ' rad_tape_20190219T054505Z');
    assert.equal(tape?.value.create_time, Date.UTC(2019, 7, 6, 6, 46, 11));
    assert.equal(tape?.value.storage_media, 'tape');
  });

  test('energy: the greendigit array and the enveloped message give the same records, values exactly as written', () => {
    const text = apelFixture('energy.json');
    const out = normalise(text);
    (JSON.parse(text) as Record<string, unknown>[]).forEach((written, i) => assertAsWritten(out.records[i] as NormalisedRecord, written));
    const strip = (records: NormalisedRecord[]) => records.map((r) => ({ ...r.value, source: null }));
    assert.deepEqual(strip(ofFixture('energy-envelope.json').records), strip(out.records));
    assert.equal(out.records[1]?.value.exec_unit_finished, true);
    assert.equal(out.records[0]?.value.energy_kwh, 0.0425);
  });
});

describe('apel-message: never throws', () => {
  const fixtures = Object.keys(expected).map(apelFixture);
  const check = (message: string) => {
    const out = normalise(message);
    assert.ok(Array.isArray(out.records) && Array.isArray(out.rejections));
    for (const rejection of out.rejections) {
      assert.ok(rejection.reasons.length > 0, `a rejection without reasons for ${JSON.stringify(message.slice(0, 80))}`);
      for (const reason of rejection.reasons) assert.ok(reason.code === 'RECORD_INVALID' || reason.code === 'RECORD_UNPARSABLE');
    }
    for (const record of out.records) assertAvroRoundTrip(record);
  };

  test('any string yields records or rejections, never a throw', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), check), { numRuns: 300 });
  });

  test('any fixture cut short or with a character changed yields records or rejections', () => {
    fc.assert(
      fc.property(fc.constantFrom(...fixtures), fc.nat(), fc.string({ maxLength: 3 }), (fixture, at, insert) => {
        const cut = at % (fixture.length + 1);
        check(fixture.slice(0, cut));
        check(fixture.slice(0, cut) + insert + fixture.slice(cut + 1));
      }),
      { numRuns: 200 },
    );
  });

  test('any cloud record of known keys with arbitrary values', () => {
    const keys = Object.keys(fieldMapping['cloud.vm'] as object);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), fc.maxSafeInteger().map(String), fc.double().map(String))), (fields) => {
        check(`APEL-cloud-message: v0.4\n${Object.entries(fields).map(([k, v]) => `${k}: ${v.replace(/[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]/g, ' ')}`).join('\n')}\n`);
      }),
      { numRuns: 300 },
    );
  });
});
