import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { domainCodec } from '../../../pipeline/avro.js';
import { buildEnvelope, type RawEnvelope } from '../../../pipeline/envelope.js';
import type { NormalisedRecord } from '../../../pipeline/normalise/types.js';
import { projectRoot } from '../../../pipeline/paths.js';

/** Shared by the apel-message and caso-json tests: the fixtures, and the field mapping they are checked against. */

export const apelFixtureDir = path.join(projectRoot, 'test/fixtures/apel-message');
export const casoFixtureDir = path.join(projectRoot, 'test/fixtures/caso-json');

export function apelFixture(name: string): string {
  return readFileSync(path.join(apelFixtureDir, name), 'utf8');
}

export const apelFixtureNames = (): string[] => readdirSync(apelFixtureDir).sort();

/** Each line of test/fixtures/caso-json/<name>, parsed. */
export function casoFixture(name: string): { line: string; fields: Record<string, unknown> }[] {
  return readFileSync(path.join(casoFixtureDir, name), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => ({ line, fields: JSON.parse(line) as Record<string, unknown> }));
}

export function queueEnvelope(message: string, file = '/var/spool/apel/outgoing/openstack/65fadb40/65fadb6a0a1b2c'): RawEnvelope {
  return buildEnvelope({ message, inputType: 'apel-queue', path: file, timestamp: new Date('2024-03-20T12:00:01Z') });
}

export function httpEnvelope(message: string): RawEnvelope {
  return buildEnvelope({ message, inputType: 'http', clientAddress: '192.0.2.7', timestamp: new Date('2024-03-20T12:00:01Z') });
}

type Conversion = 'same' | 'seconds' | 'end-seconds' | 'iso' | 'flag' | 'gib';

/** Input key (as cASO and APEL spell it) → Avro field, and how the value is carried. */
export const fieldMapping: Readonly<Record<string, Readonly<Record<string, readonly [string, Conversion]>>>> = {
  'cloud.vm': {
    VMUUID: ['vm_uuid', 'same'],
    SiteName: ['site_name', 'same'],
    CloudComputeService: ['cloud_compute_service', 'same'],
    MachineName: ['machine_name', 'same'],
    LocalUserId: ['local_user_id', 'same'],
    LocalGroupId: ['local_group_id', 'same'],
    GlobalUserName: ['global_user_name', 'same'],
    FQAN: ['fqan', 'same'],
    Status: ['status', 'same'],
    StartTime: ['start_time', 'seconds'],
    EndTime: ['end_time', 'end-seconds'],
    RecordCreateTime: ['record_create_time', 'seconds'],
    SuspendDuration: ['suspend_duration_seconds', 'same'],
    WallDuration: ['wall_duration_seconds', 'same'],
    CpuDuration: ['cpu_duration_seconds', 'same'],
    CpuCount: ['cpu_count', 'same'],
    NetworkType: ['network_type', 'same'],
    NetworkInbound: ['network_inbound', 'same'],
    NetworkOutbound: ['network_outbound', 'same'],
    PublicIPCount: ['public_ip_count', 'same'],
    Memory: ['memory_mb', 'same'],
    Disk: ['disk_gb', 'same'],
    StorageRecordId: ['storage_record_id', 'same'],
    ImageId: ['image_id', 'same'],
    CloudType: ['cloud_type', 'same'],
    BenchmarkType: ['benchmark_type', 'same'],
    Benchmark: ['benchmark_value', 'same'],
  },
  'cloud.ip': {
    SiteName: ['site_name', 'same'],
    CloudComputeService: ['cloud_compute_service', 'same'],
    CloudType: ['cloud_type', 'same'],
    uuid: ['record_uuid', 'same'],
    LocalUser: ['local_user', 'same'],
    LocalGroup: ['local_group', 'same'],
    GlobalUserName: ['global_user_name', 'same'],
    FQAN: ['fqan', 'same'],
    IPVersion: ['ip_version', 'same'],
    IPCount: ['ip_count', 'same'],
    MeasurementTime: ['measurement_time', 'seconds'],
  },
  'cloud.accelerator': {
    SiteName: ['site_name', 'same'],
    CloudComputeService: ['cloud_compute_service', 'same'],
    CloudType: ['cloud_type', 'same'],
    AssociatedRecord: ['associated_record', 'same'],
    AccUUID: ['associated_record', 'same'],
    AssociatedRecordType: ['associated_record_type', 'same'],
    GlobalUserName: ['global_user_name', 'same'],
    FQAN: ['fqan', 'same'],
    Count: ['count', 'same'],
    Cores: ['cores', 'same'],
    ActiveDuration: ['active_duration_seconds', 'same'],
    AvailableDuration: ['available_duration_seconds', 'same'],
    MeasurementMonth: ['measurement_month', 'same'],
    MeasurementYear: ['measurement_year', 'same'],
    BenchmarkType: ['benchmark_type', 'same'],
    Benchmark: ['benchmark_value', 'same'],
    benchmark_value: ['benchmark_value', 'same'],
    Type: ['accelerator_type', 'same'],
    Model: ['model', 'same'],
  },
  /** the StAR spelling */
  'cloud.storage': {
    RecordId: ['record_id', 'same'],
    CreateTime: ['create_time', 'iso'],
    StorageSystem: ['storage_system', 'same'],
    Site: ['site', 'same'],
    StorageShare: ['storage_share', 'same'],
    StorageMedia: ['storage_media', 'same'],
    StorageClass: ['storage_class', 'same'],
    FileCount: ['file_count', 'same'],
    DirectoryPath: ['directory_path', 'same'],
    LocalUser: ['local_user', 'same'],
    LocalGroup: ['local_group', 'same'],
    UserIdentity: ['user_identity', 'same'],
    Group: ['group', 'same'],
    SubGroup: ['sub_group', 'same'],
    Role: ['role', 'same'],
    StartTime: ['start_time', 'iso'],
    EndTime: ['end_time', 'iso'],
    ResourceCapacityUsed: ['resource_capacity_used', 'same'],
    ResourceCapacityAllocated: ['resource_capacity_allocated', 'same'],
    LogicalCapacityUsed: ['logical_capacity_used', 'same'],
  },
  /** cASO's StorageRecord JSON spelling */
  'cloud.storage caso': {
    SiteName: ['site', 'same'],
    CloudType: ['cloud_type', 'same'],
    CloudComputeService: ['storage_system', 'same'],
    VolumeUUID: ['record_id', 'same'],
    RecordName: ['record_name', 'same'],
    LocalUser: ['local_user', 'same'],
    GlobalUserName: ['user_identity', 'same'],
    LocalGroup: ['local_group', 'same'],
    FQAN: ['group', 'same'],
    ActiveDuration: ['active_duration_seconds', 'same'],
    AttachedDuration: ['attached_duration_seconds', 'same'],
    AttachedTo: ['attached_to', 'same'],
    Type: ['storage_type', 'same'],
    Status: ['status', 'same'],
    Capacity: ['resource_capacity_used', 'gib'],
    StartTime: ['start_time', 'seconds'],
    CreateTime: ['create_time', 'seconds'],
    VolumeCreationTime: ['volume_creation_time', 'seconds'],
  },
  'cloud.energy': {
    SiteName: ['site_name', 'same'],
    CloudType: ['cloud_type', 'same'],
    CloudComputeService: ['cloud_compute_service', 'same'],
    ExecUnitID: ['exec_unit_id', 'same'],
    StartExecTime: ['start_exec_time', 'iso'],
    EndExecTime: ['end_exec_time', 'iso'],
    EnergyWh: ['energy_wh', 'same'],
    Work: ['work', 'same'],
    Efficiency: ['efficiency', 'same'],
    WallClockTime_s: ['wall_clock_time_seconds', 'same'],
    CpuDuration_s: ['cpu_duration_seconds', 'same'],
    SuspendDuration_s: ['suspend_duration_seconds', 'same'],
    CPUNormalizationFactor: ['cpu_normalization_factor', 'same'],
    ExecUnitFinished: ['exec_unit_finished', 'flag'],
    Status: ['status', 'same'],
    Owner: ['owner', 'same'],
  },
};

/**
 * Every field the input gives is in the record with the value as written: `given` holds the
 * values as the input wrote them (text for key: value and XML, JSON values for JSON).
 */
export function assertAsWritten(record: NormalisedRecord, given: Record<string, unknown>, mapping = fieldMapping[record.topic]): void {
  assert.ok(mapping, `no mapping for ${record.topic}`);
  for (const [key, written] of Object.entries(given)) {
    const target: readonly [string, Conversion] | undefined = mapping[key];
    assert.ok(target, `${record.topic}: the input key ${key} has no field in the mapping`);
    const field: string = target[0];
    const conversion: Conversion = target[1];
    const text = typeof written === 'string' ? written : undefined;
    const number = typeof written === 'number' ? written : text !== undefined && /^[+-]?[\d.eE+-]+$/.test(text.trim()) ? Number(text) : undefined;
    let expected: unknown;
    switch (conversion) {
      case 'same':
        expected = typeof record.value[field] === 'number' && number !== undefined ? number : written;
        break;
      case 'seconds':
        expected = (number as number) * 1000;
        break;
      case 'end-seconds':
        expected = number === 0 ? null : (number as number) * 1000;
        break;
      case 'iso':
        expected = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text as string) ? (text as string) : `${text as string}Z`);
        break;
      case 'flag':
        expected = number === 1;
        break;
      case 'gib':
        expected = (number as number) * 2 ** 30;
        break;
    }
    assert.deepEqual(record.value[field], expected, `${record.topic} ${key} → ${field}`);
  }
}

/** The record survives Avro: encoded with its topic's schema and decoded, it is what it was. */
export function assertAvroRoundTrip(record: NormalisedRecord): void {
  const codec = domainCodec(record.topic);
  const decoded = codec.decode(codec.encode(record.value));
  assert.deepEqual(JSON.parse(JSON.stringify(decoded)), JSON.parse(JSON.stringify(record.value)));
  assert.equal(decoded.id, record.id);
}

/** `Key: Value` records of a cloud message, as a test reads them: independent of the parser under test. */
export function cloudTextRecords(text: string): Record<string, string>[] {
  const body = text.slice(text.indexOf('\n') + 1);
  return body
    .split(/^%%$/m)
    .map((chunk) => chunk.split('\n').filter((line) => line.trim() !== ''))
    .filter((lines) => lines.length > 0)
    .map((lines) => Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1).trim()])));
}
