import type { RejectionReason } from '../../dlq.js';
import { refused, hours, optional, times, type BuildContext, type BuildOutcome } from './build.js';
import { parseFqan } from './fqan.js';
import { businessKeyId } from '../common/record-id.js';
import { monthOf, secondsToMillis } from './time.js';
import { recordSchema, schemaReasons } from './validate.js';

/** cloud.vm: one APEL cloud record (v0.2/v0.4 text) or cASO CloudRecord JSON, the keys as APEL spells them. */
export const vmTopic = 'cloud.vm';

const schema = recordSchema('caso-cloud.schema.json', 'a cloud record');

/** A record that passed caso-cloud.schema.json. */
interface CloudFields {
  VMUUID: string;
  SiteName: string;
  CloudComputeService?: string;
  MachineName?: string;
  LocalUserId?: string;
  LocalGroupId?: string;
  GlobalUserName?: string;
  FQAN?: string;
  Status?: string;
  StartTime?: number;
  EndTime?: number;
  RecordCreateTime?: number;
  SuspendDuration?: number;
  WallDuration?: number;
  CpuDuration?: number;
  CpuCount?: number;
  NetworkType?: string;
  NetworkInbound?: number;
  NetworkOutbound?: number;
  PublicIPCount?: number;
  Memory?: number;
  Disk?: number;
  StorageRecordId?: string;
  ImageId?: string;
  CloudType?: string;
  BenchmarkType?: string;
  Benchmark?: number;
}

export function buildVm(fields: Record<string, unknown>, context: BuildContext): BuildOutcome {
  const reasons = schemaReasons(schema, fields, context.origin, context.written);
  if (reasons.length > 0) return refused(reasons);
  const vm = fields as unknown as CloudFields;
  const measured = measurementTime(vm);
  if (measured === undefined) return refused([noMonth(vm, context)]);
  if (measured > lastEpochSecond) return refused([monthTooLate(vm, measured, context)]);
  const month = monthOf(secondsToMillis(measured));
  const id = businessKeyId(vmTopic, [vm.SiteName, vm.CloudComputeService, vm.VMUUID, month]);
  const ended = vm.EndTime !== undefined && vm.EndTime !== 0;
  const cpuHours = hours(vm.CpuDuration);
  const wallHours = hours(vm.WallDuration);
  const coreWallHours = times(wallHours, vm.CpuCount);
  const benchmark = optional(vm.Benchmark);
  return {
    record: {
      topic: vmTopic,
      id,
      value: {
        id,
        site_name: vm.SiteName,
        cloud_compute_service: optional(vm.CloudComputeService),
        cloud_type: optional(vm.CloudType),
        vm_uuid: vm.VMUUID,
        machine_name: optional(vm.MachineName),
        local_user_id: optional(vm.LocalUserId),
        local_group_id: optional(vm.LocalGroupId),
        global_user_name: optional(vm.GlobalUserName),
        fqan: optional(vm.FQAN),
        ...parseFqan(vm.FQAN),
        status: optional(vm.Status),
        start_time: vm.StartTime === undefined ? null : secondsToMillis(vm.StartTime),
        end_time: ended ? secondsToMillis(vm.EndTime as number) : null,
        running: !ended,
        record_create_time: vm.RecordCreateTime === undefined ? null : secondsToMillis(vm.RecordCreateTime),
        measurement_time: secondsToMillis(measured),
        accounting_month: month,
        suspend_duration_seconds: optional(vm.SuspendDuration),
        wall_duration_seconds: optional(vm.WallDuration),
        cpu_duration_seconds: optional(vm.CpuDuration),
        cpu_count: optional(vm.CpuCount),
        network_type: optional(vm.NetworkType),
        network_inbound: optional(vm.NetworkInbound),
        network_outbound: optional(vm.NetworkOutbound),
        public_ip_count: optional(vm.PublicIPCount),
        memory_mb: optional(vm.Memory),
        disk_gb: optional(vm.Disk),
        storage_record_id: optional(vm.StorageRecordId),
        image_id: optional(vm.ImageId),
        benchmark_type: optional(vm.BenchmarkType),
        benchmark_value: benchmark,
        cpu_hours: cpuHours,
        wall_hours: wallHours,
        core_wall_hours: coreWallHours,
        normalised_cpu_hours: times(cpuHours, benchmark),
        normalised_wall_hours: times(coreWallHours, benchmark),
        cpu_efficiency: cpuEfficiency(vm),
        source: context.source,
      },
    },
  };
}

/**
 * The instant APEL's ReplaceCloudRecord files the snapshot under (its MeasurementMonth/Year), in
 * epoch seconds: the EndTime of a completed VM; otherwise RecordCreateTime when given, else
 * StartTime + SuspendDuration + WallDuration. Where APEL would take a completed VM's EndTime of 0
 * (1970) or a missing StartTime (the zero date), Tally goes on to the next rule or refuses.
 */
function measurementTime(vm: CloudFields): number | undefined {
  if (vm.Status === 'completed' && vm.EndTime !== undefined && vm.EndTime > 0) return vm.EndTime;
  if (vm.RecordCreateTime !== undefined && vm.RecordCreateTime > 0) return vm.RecordCreateTime;
  if (vm.StartTime !== undefined) return vm.StartTime + (vm.SuspendDuration ?? 0) + (vm.WallDuration ?? 0);
  return undefined;
}

function noMonth(vm: CloudFields, context: BuildContext): RejectionReason {
  const endTime = vm.EndTime === undefined ? '' : ` (EndTime ${vm.EndTime} counts only for Status completed, the Status is ${JSON.stringify(vm.Status ?? null)})`;
  return {
    code: 'RECORD_INVALID',
    rule: 'accounting-month',
    path: '/StartTime',
    message: `a cloud record needs \`StartTime\` (with \`WallDuration\`), \`RecordCreateTime\`, or the \`EndTime\` of a completed VM to place it in an accounting month, as APEL does; it has none of them${endTime} (${context.origin})`,
  };
}

/** 9999-12-31T23:59:59Z, the last second the schema admits for a time */
const lastEpochSecond = 253402300799;

function monthTooLate(vm: CloudFields, measured: number, context: BuildContext): RejectionReason {
  return {
    code: 'RECORD_INVALID',
    rule: 'accounting-month',
    path: '/WallDuration',
    message: `\`StartTime\` ${vm.StartTime} + \`SuspendDuration\` ${vm.SuspendDuration ?? 0} + \`WallDuration\` ${vm.WallDuration ?? 0} = ${measured} seconds is after the year 9999, so the record has no accounting month; are the durations in milliseconds? (${context.origin})`,
  };
}

function cpuEfficiency(vm: CloudFields): number | null {
  if (vm.CpuDuration === undefined || !vm.WallDuration || !vm.CpuCount) return null;
  return vm.CpuDuration / (vm.WallDuration * vm.CpuCount);
}
