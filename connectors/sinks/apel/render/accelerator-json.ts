import { decimal, int32Max, integer, limitedLength, pythonFloat, readsAsNull, unrenderable, wholeOrDecimal } from './checks.js';
import type { MessageFraming, Rendered } from './framing.js';
import { pyLiteral, pyString, pythonJsonObject } from './python-json.js';

/** The fields of a cloud.accelerator record (schemas/avro/cloud.accelerator.avsc) that the accelerator message carries. */
export interface AcceleratorRecord {
  site_name: string;
  cloud_compute_service: string | null;
  cloud_type: string | null;
  associated_record_type: string;
  associated_record: string;
  global_user_name: string | null;
  fqan: string | null;
  accelerator_type: string;
  model: string | null;
  count: number;
  cores: number | null;
  active_duration_seconds: number | null;
  available_duration_seconds: number;
  measurement_month: number;
  measurement_year: number;
  benchmark_type: string | null;
  benchmark_value: number | null;
}

export const acceleratorFraming: MessageFraming = { head: '{"Type": "APEL-accelerator-message", "Version": "0.1", "UsageRecords": [', separator: ', ', tail: ']}' };

const types = new Map([['gpu', 'GPU'], ['fpga', 'FPGA'], ['other', 'Other']]);
const text = (key: string, value: string | null): string | null => (value === null ? null : limitedLength(key, value, 255));

/**
 * One UsageRecords entry in cASO's key order, checked against APEL's accelerator schema (PR #459):
 * Type GPU/FPGA/Other, month 1-12, year 2000..this year, AssociatedRecordType cloud/job, and a Model
 * (part of APEL's primary key). ActiveDuration defaults to AvailableDuration, as cASO computes it.
 * The benchmark goes under APEL's key `Benchmark` (cASO would write `benchmark_value`, which APEL refuses).
 */
export function renderAcceleratorRecord(record: AcceleratorRecord, now: Date = new Date()): Rendered {
  if (readsAsNull(record.site_name)) unrenderable('SiteName', 'is mandatory in an accelerator record', record.site_name);
  if (readsAsNull(record.associated_record)) unrenderable('AssociatedRecord', 'is mandatory in an accelerator record', record.associated_record);
  const type = types.get(record.accelerator_type.toLowerCase()) ?? unrenderable('Type', 'must be GPU, FPGA or Other', record.accelerator_type);
  if (record.associated_record_type !== 'cloud' && record.associated_record_type !== 'job') unrenderable('AssociatedRecordType', 'must be cloud or job', record.associated_record_type);
  if (record.model === null || readsAsNull(record.model)) unrenderable('Model', 'is part of APEL\'s accelerator key and must be given');
  const entry = pythonJsonObject([
    ['SiteName', pyString(text('SiteName', record.site_name))],
    ['CloudType', pyString(text('CloudType', record.cloud_type))],
    ['CloudComputeService', pyString(text('CloudComputeService', record.cloud_compute_service))],
    ['AssociatedRecord', pyString(text('AssociatedRecord', record.associated_record))],
    ['GlobalUserName', pyString(text('GlobalUserName', record.global_user_name))],
    ['FQAN', pyString(text('FQAN', record.fqan))],
    ['Count', pyLiteral(wholeOrDecimal(decimal('Count', record.count, 0)))],
    ['AvailableDuration', pyLiteral(integer('AvailableDuration', record.available_duration_seconds, 0, int32Max))],
    ['MeasurementMonth', pyLiteral(integer('MeasurementMonth', record.measurement_month, 1, 12))],
    ['MeasurementYear', pyLiteral(integer('MeasurementYear', record.measurement_year, 2000, now.getUTCFullYear()))],
    ['AssociatedRecordType', pyString(record.associated_record_type)],
    ['Type', pyString(type)],
    ['Cores', pyLiteral(record.cores === null ? null : integer('Cores', record.cores, 0, int32Max))],
    ['Model', pyString(text('Model', record.model))],
    ['Benchmark', pyLiteral(record.benchmark_value === null ? null : pythonFloat(decimal('Benchmark', record.benchmark_value, 0)))],
    ['BenchmarkType', pyString(text('BenchmarkType', record.benchmark_type))],
    ['ActiveDuration', pyLiteral(integer('ActiveDuration', record.active_duration_seconds ?? record.available_duration_seconds, 0, int32Max))],
  ]);
  return { text: entry, transliterated: 0 };
}
