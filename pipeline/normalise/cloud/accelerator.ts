import { refused, hours, optional, times, type BuildContext, type BuildOutcome } from './build.js';
import { parseFqan } from './fqan.js';
import { businessKeyId } from '../common/record-id.js';
import { monthStart } from './time.js';
import { recordSchema, schemaReasons } from './validate.js';

/** cloud.accelerator: one accelerator usage record (APEL-accelerator-message item or cASO AcceleratorRecord JSON). */
export const acceleratorTopic = 'cloud.accelerator';

const schema = recordSchema('caso-accelerator.schema.json', 'an accelerator record');

interface AcceleratorFields {
  SiteName: string;
  CloudComputeService?: string | null;
  CloudType?: string | null;
  AssociatedRecordType?: 'cloud' | 'job';
  AssociatedRecord: string;
  GlobalUserName?: string | null;
  FQAN?: string;
  Count: number;
  Cores?: number | null;
  ActiveDuration?: number | null;
  AvailableDuration: number;
  MeasurementMonth: number;
  MeasurementYear: number;
  BenchmarkType?: string | null;
  Benchmark?: number | null;
  Type: string;
  Model?: string;
}

/**
 * The keys other producers use for the same field, read as the APEL key before validation:
 * cASO 4.0.0–5.2.1 wrote the VM as `AccUUID`; every cASO writes the benchmark as
 * `benchmark_value` (its alias map misses it); cASO 4.0.x–4.1.x wrote `compute_service`.
 * A record giving both spellings keeps both, and the schema refuses the unknown one.
 */
const aliases: readonly (readonly [string, string])[] = [
  ['AccUUID', 'AssociatedRecord'],
  ['benchmark_value', 'Benchmark'],
  ['compute_service', 'CloudComputeService'],
];

export function buildAccelerator(given: Record<string, unknown>, context: BuildContext): BuildOutcome {
  const fields = withAliasesRead(given);
  const reasons = schemaReasons(schema, fields, context.origin, context.written);
  if (reasons.length > 0) return refused(reasons);
  const acc = fields as unknown as AcceleratorFields;
  const month = `${String(acc.MeasurementYear).padStart(4, '0')}-${String(acc.MeasurementMonth).padStart(2, '0')}`;
  const recordType = acc.AssociatedRecordType ?? 'cloud';
  const model = optional(acc.Model);
  const id = businessKeyId(acceleratorTopic, [acc.SiteName, acc.CloudComputeService, recordType, acc.AssociatedRecord, model, month]);
  const active = acc.ActiveDuration ?? acc.AvailableDuration;
  const activeHours = hours(active) as number;
  const acceleratorHours = activeHours * acc.Count;
  const benchmark = optional(acc.Benchmark);
  const space = model === null ? -1 : model.indexOf(' ');
  return {
    record: {
      topic: acceleratorTopic,
      id,
      value: {
        id,
        site_name: acc.SiteName,
        cloud_compute_service: optional(acc.CloudComputeService),
        cloud_type: optional(acc.CloudType),
        associated_record_type: recordType,
        associated_record: acc.AssociatedRecord,
        global_user_name: optional(acc.GlobalUserName),
        fqan: optional(acc.FQAN),
        ...parseFqan(acc.FQAN),
        accelerator_type: acc.Type,
        model,
        vendor: model !== null && space > 0 ? model.slice(0, space) : null,
        count: acc.Count,
        cores: optional(acc.Cores),
        active_duration_seconds: optional(acc.ActiveDuration),
        available_duration_seconds: acc.AvailableDuration,
        measurement_month: acc.MeasurementMonth,
        measurement_year: acc.MeasurementYear,
        benchmark_type: optional(acc.BenchmarkType),
        benchmark_value: benchmark,
        measurement_time: monthStart(acc.MeasurementYear, acc.MeasurementMonth),
        accounting_month: month,
        active_hours: activeHours,
        available_hours: hours(acc.AvailableDuration) as number,
        accelerator_hours: acceleratorHours,
        normalised_accelerator_hours: times(acceleratorHours, benchmark),
        source: context.source,
      },
    },
  };
}

function withAliasesRead(given: Record<string, unknown>): Record<string, unknown> {
  let fields = given;
  for (const [alias, key] of aliases) {
    if (!Object.hasOwn(fields, alias) || Object.hasOwn(fields, key)) continue;
    if (fields === given) fields = { ...given };
    fields[key] = fields[alias];
    delete fields[alias];
  }
  return fields;
}
