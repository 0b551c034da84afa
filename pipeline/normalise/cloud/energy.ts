import { refused, hours, optional, type BuildContext, type BuildOutcome } from './build.js';
import { businessKeyId } from '../common/record-id.js';
import { monthOf, parseIsoDateTime } from './time.js';
import { recordSchema, schemaReasons } from './validate.js';

/** cloud.energy: one cASO EnergyRecord (GreenDIGIT "0.1"). */
export const energyTopic = 'cloud.energy';

const schema = recordSchema('caso-energy.schema.json', 'an energy record');

interface EnergyFields {
  SiteName: string;
  CloudType?: string;
  CloudComputeService: string;
  ExecUnitID: string;
  StartExecTime: string;
  EndExecTime: string;
  EnergyWh: number;
  Work: number;
  Efficiency: number;
  WallClockTime_s: number;
  CpuDuration_s: number;
  SuspendDuration_s: number;
  CPUNormalizationFactor: number;
  ExecUnitFinished: 0 | 1;
  Status: string;
  Owner: string;
}

export function buildEnergy(fields: Record<string, unknown>, context: BuildContext): BuildOutcome {
  const reasons = schemaReasons(schema, fields, context.origin, context.written);
  if (reasons.length > 0) return refused(reasons);
  const energy = fields as unknown as EnergyFields;
  // the schema checked both as iso-date-time
  const start = parseIsoDateTime(energy.StartExecTime) as number;
  const end = parseIsoDateTime(energy.EndExecTime) as number;
  if (end < start) {
    return refused([
      {
        code: 'RECORD_INVALID',
        rule: 'end-not-before-start',
        path: '/EndExecTime',
        message: `\`EndExecTime\` must not be before \`StartExecTime\`, got EndExecTime ${JSON.stringify(energy.EndExecTime)} and StartExecTime ${JSON.stringify(energy.StartExecTime)} (${context.origin})`,
      },
    ]);
  }
  const month = monthOf(end);
  const id = businessKeyId(energyTopic, [energy.SiteName, energy.CloudComputeService, energy.ExecUnitID, start, month]);
  return {
    record: {
      topic: energyTopic,
      id,
      value: {
        id,
        site_name: energy.SiteName,
        cloud_compute_service: energy.CloudComputeService,
        cloud_type: optional(energy.CloudType),
        exec_unit_id: energy.ExecUnitID,
        start_exec_time: start,
        end_exec_time: end,
        energy_wh: energy.EnergyWh,
        energy_kwh: energy.EnergyWh / 1000,
        work: energy.Work,
        efficiency: energy.Efficiency,
        wall_clock_time_seconds: energy.WallClockTime_s,
        cpu_duration_seconds: energy.CpuDuration_s,
        suspend_duration_seconds: energy.SuspendDuration_s,
        cpu_normalization_factor: energy.CPUNormalizationFactor,
        exec_unit_finished: energy.ExecUnitFinished === 1,
        status: energy.Status,
        owner: energy.Owner,
        wall_hours: hours(energy.WallClockTime_s) as number,
        cpu_hours: hours(energy.CpuDuration_s) as number,
        measurement_time: end,
        accounting_month: month,
        source: context.source,
      },
    },
  };
}
