import { keyValueText, isAscii } from './ascii.js';
import { decimal, epochSeconds, integer, limitedLength, pythonFloat, readsAsNull, unrenderable, wholeOrDecimal } from './checks.js';
import type { MessageFraming, Rendered } from './framing.js';

/** The fields of a cloud.vm record (schemas/avro/cloud.vm.avsc) that APEL's cloud record carries. */
export interface VmRecord {
  site_name: string;
  cloud_compute_service: string | null;
  cloud_type: string | null;
  vm_uuid: string;
  machine_name: string | null;
  local_user_id: string | null;
  local_group_id: string | null;
  global_user_name: string | null;
  fqan: string | null;
  status: string | null;
  start_time: number | null;
  end_time: number | null;
  record_create_time: number | null;
  suspend_duration_seconds: number | null;
  wall_duration_seconds: number | null;
  cpu_duration_seconds: number | null;
  cpu_count: number | null;
  network_type: string | null;
  network_inbound: number | null;
  network_outbound: number | null;
  public_ip_count: number | null;
  memory_mb: number | null;
  disk_gb: number | null;
  storage_record_id: string | null;
  image_id: string | null;
  benchmark_type: string | null;
  benchmark_value: number | null;
}

export interface CloudTextOptions {
  /** cASO's SSM text writes CpuDuration and WallDuration 0 as 1 ("at least 1 second"); the JSON keeps 0 */
  zeroDurationsAsOne: boolean;
}

/** What cASO's SSM messenger writes: the header line, records joined by a `%%` line, one final newline, no trailing `%%`. */
export const cloudFraming: MessageFraming = { head: 'APEL-cloud-message: v0.4\n', separator: '\n%%\n', tail: '\n' };

const text: readonly (readonly [key: string, field: keyof VmRecord])[] = [
  ['CloudComputeService', 'cloud_compute_service'],
  ['CloudType', 'cloud_type'],
  ['MachineName', 'machine_name'],
  ['LocalUserId', 'local_user_id'],
  ['LocalGroupId', 'local_group_id'],
  ['GlobalUserName', 'global_user_name'],
  ['FQAN', 'fqan'],
  ['Status', 'status'],
  ['NetworkType', 'network_type'],
  ['StorageRecordId', 'storage_record_id'],
  ['ImageId', 'image_id'],
  ['BenchmarkType', 'benchmark_type'],
];

const bigints: readonly (readonly [key: string, field: keyof VmRecord])[] = [
  ['SuspendDuration', 'suspend_duration_seconds'],
  ['WallDuration', 'wall_duration_seconds'],
  ['CpuDuration', 'cpu_duration_seconds'],
  ['NetworkInbound', 'network_inbound'],
  ['NetworkOutbound', 'network_outbound'],
  ['Memory', 'memory_mb'],
  ['Disk', 'disk_gb'],
];

/**
 * One record of an `APEL-cloud-message: v0.4` body, as APEL's CloudRecord loads it: one
 * `Key: Value` per line, keys in code-point order (cASO's order), nulls left out, integers as
 * plain decimals, times as integer epoch seconds, text transliterated to ASCII without line breaks
 * or `%%`. No trailing newline. Throws RECORD_UNRENDERABLE for what APEL would refuse.
 */
export function renderCloudRecord(record: VmRecord, options: CloudTextOptions): Rendered {
  const lines: [string, string][] = [];
  let transliterated = 0;
  for (const [key, field] of [['VMUUID', 'vm_uuid'], ['SiteName', 'site_name']] as const) {
    const value = record[field];
    if (typeof value !== 'string' || readsAsNull(value)) unrenderable(key, 'is mandatory in an APEL cloud record', value);
    if (!isAscii(value)) unrenderable(key, 'is not ASCII; an identifier is not transliterated, as that could merge two of them', value);
    const clean = keyValueText(value);
    if (clean !== value.trim()) unrenderable(key, 'holds a line break, control character or %%, which APEL text cannot carry', value);
    lines.push([key, limitedLength(key, clean, 255)]);
  }
  for (const [key, field] of text) {
    const value = record[field] as string | null;
    if (value === null) continue;
    const clean = keyValueText(value);
    if (clean !== value) transliterated += 1;
    if (clean === '') continue;
    lines.push([key, limitedLength(key, clean, key === 'BenchmarkType' ? 50 : 255)]);
  }
  for (const [key, field] of bigints) {
    let value = record[field] as number | null;
    if (value === null) continue;
    if (options.zeroDurationsAsOne && value === 0 && (key === 'CpuDuration' || key === 'WallDuration')) value = 1;
    lines.push([key, integer(key, value, Number.MIN_SAFE_INTEGER)]);
  }
  if (record.public_ip_count !== null) lines.push(['PublicIPCount', integer('PublicIPCount', record.public_ip_count, -2_147_483_648, 2_147_483_647)]);
  if (record.cpu_count !== null) lines.push(['CpuCount', wholeOrDecimal(decimal('CpuCount', record.cpu_count, 0))]);
  if (record.benchmark_value !== null) lines.push(['Benchmark', pythonFloat(decimal('Benchmark', record.benchmark_value, -9_999_999.999))]);
  if (record.start_time !== null) lines.push(['StartTime', String(epochSeconds('StartTime', record.start_time))]);
  if (record.end_time !== null) lines.push(['EndTime', String(epochSeconds('EndTime', record.end_time))]);
  // cASO (and the EGI example) send 0 for a VM still running; a completed VM without an end keeps it absent
  else if (record.status !== 'completed') lines.push(['EndTime', '0']);
  if (record.record_create_time !== null) lines.push(['RecordCreateTime', String(epochSeconds('RecordCreateTime', record.record_create_time))]);
  lines.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { text: lines.map(([key, value]) => `${key}: ${value}`).join('\n'), transliterated };
}
