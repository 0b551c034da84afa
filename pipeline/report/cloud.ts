import type { estypes } from '@elastic/elasticsearch';
import type { ReportColumn, ReportFamily, ReportPanel, ReportRow } from './panel.js';

/**
 * The "Cloud usage" dashboard (schemas/kibana/cloud-usage.ndjson) as queries: each panel asks
 * Elasticsearch what its Lens visualization asks, ordered the same way (top-N by the panel's metric,
 * ties by key), without Lens's empty months and "other" bucket. cASO's durations are cumulative and
 * a record id replaces the earlier snapshot, so there is one document per VM (volume, project) and
 * month: the buckets are calendar months, where a sum is exact, whatever --interval says.
 */

interface Bucket {
  key: string | number;
  key_as_string?: string;
  doc_count: number;
  [sub: string]: unknown;
}

function buckets(container: unknown, name: string): Bucket[] {
  return ((container as Record<string, { buckets?: Bucket[] }> | undefined)?.[name]?.buckets ?? []) as Bucket[];
}

/** a sum sub-aggregation's value; Elasticsearch answers 0 for a bucket without the field, as Lens shows it */
const valueOf = (bucket: Bucket, name: string): number => (bucket[name] as { value?: number | null } | undefined)?.value ?? 0;
const countOf = (bucket: Bucket, name: string): number => (bucket[name] as { doc_count?: number } | undefined)?.doc_count ?? 0;
const periodOf = (bucket: Bucket): string => bucket.key_as_string ?? String(bucket.key);

const timeField = 'measurement_time';
const byMonth = (aggs: Record<string, estypes.AggregationsAggregationContainer>): estypes.AggregationsAggregationContainer => ({
  date_histogram: { field: timeField, calendar_interval: 'month', min_doc_count: 1 },
  aggs,
});
const sum = (field: string): estypes.AggregationsAggregationContainer => ({ sum: { field } });
const topBy = (field: string, metric: string, size: number, aggs: Record<string, estypes.AggregationsAggregationContainer>): estypes.AggregationsAggregationContainer => ({
  terms: { field, size, order: [{ [metric]: 'desc' }, { _key: 'asc' }] },
  aggs: { [metric]: sum(metric), ...aggs },
});

const hourFields = ['cpu_hours', 'wall_hours', 'normalised_cpu_hours'] as const;
const hourSums = Object.fromEntries(hourFields.map((f) => [f, sum(f)]));
const hourColumns: ReportColumn[] = [{ key: 'vms', title: 'vms', numeric: true }, ...hourFields.map((f) => ({ key: f, title: f, numeric: true }))];
const hourValues = (bucket: Bucket): ReportRow => ({ vms: bucket.doc_count, ...Object.fromEntries(hourFields.map((f) => [f, valueOf(bucket, f)])) });

const usageOverTime: ReportPanel = {
  name: 'usage-over-time',
  description: 'per month: VMs, and the sums of CPU hours, wall hours and normalised CPU hours',
  savedObject: 'tally-cloud-usage-over-time',
  fields: [timeField, ...hourFields],
  columns: [{ key: 'period', title: 'period' }, ...hourColumns],
  search: () => ({ size: 0, aggs: { time: byMonth(hourSums) } }),
  rows: (response) => buckets(response.aggregations, 'time').map((t): ReportRow => ({ period: periodOf(t), ...hourValues(t) })),
};

function hoursBy(name: string, field: string, what: string): ReportPanel {
  return {
    name,
    description: `the ${what} with the most CPU hours (--size of them), per month: VMs, CPU, wall and normalised CPU hours`,
    savedObject: `tally-cloud-${name}`,
    fields: [field, timeField, ...hourFields],
    columns: [{ key: field, title: field }, { key: 'period', title: 'period' }, ...hourColumns],
    search: (params) => ({ size: 0, aggs: { key: topBy(field, 'cpu_hours', params.size, { time: byMonth(hourSums) }) } }),
    rows: (response) => buckets(response.aggregations, 'key').flatMap((k) => buckets(k, 'time').map((t): ReportRow => ({ [field]: String(k.key), period: periodOf(t), ...hourValues(t) }))),
  };
}

const topVos: ReportPanel = {
  name: 'top-vos',
  description: 'the VOs with the most CPU hours in the range (--size of them): VMs, CPU, wall and normalised CPU hours',
  savedObject: 'tally-cloud-top-vos',
  fields: ['vo', ...hourFields],
  columns: [{ key: 'vo', title: 'vo' }, ...hourColumns],
  search: (params) => ({ size: 0, aggs: { key: topBy('vo', 'cpu_hours', params.size, hourSums) } }),
  rows: (response) => buckets(response.aggregations, 'key').map((k): ReportRow => ({ vo: String(k.key), ...hourValues(k) })),
};

const cpuEfficiency: ReportPanel = {
  name: 'cpu-efficiency',
  description: 'per VO (the most CPU hours first) and month: CPU hours ÷ core wall hours (wall hours × vCPUs)',
  savedObject: 'tally-cloud-cpu-efficiency',
  fields: ['vo', timeField, 'cpu_hours', 'core_wall_hours'],
  columns: [
    { key: 'vo', title: 'vo' },
    { key: 'period', title: 'period' },
    { key: 'cpu_hours', title: 'cpu_hours', numeric: true },
    { key: 'core_wall_hours', title: 'core_wall_hours', numeric: true },
    { key: 'efficiency', title: 'efficiency', numeric: true },
  ],
  search: (params) => ({ size: 0, aggs: { key: topBy('vo', 'cpu_hours', params.size, { time: byMonth({ cpu_hours: sum('cpu_hours'), core_wall_hours: sum('core_wall_hours') }) }) } }),
  rows: (response) =>
    buckets(response.aggregations, 'key').flatMap((k) =>
      buckets(k, 'time').map((t): ReportRow => {
        const cpuHours = valueOf(t, 'cpu_hours');
        const coreWallHours = valueOf(t, 'core_wall_hours');
        return { vo: String(k.key), period: periodOf(t), cpu_hours: cpuHours, core_wall_hours: coreWallHours, efficiency: coreWallHours > 0 ? cpuHours / coreWallHours : null };
      }),
    ),
};

const runningVms: ReportPanel = {
  name: 'running-vms',
  description: 'per month: VMs reported, and those whose latest snapshot of the month had not ended',
  savedObject: 'tally-cloud-running-vms',
  fields: [timeField, 'running'],
  columns: [
    { key: 'period', title: 'period' },
    { key: 'vms', title: 'vms', numeric: true },
    { key: 'running', title: 'running', numeric: true },
  ],
  search: () => ({ size: 0, aggs: { time: byMonth({ running: { filter: { term: { running: true } } } }) } }),
  rows: (response) => buckets(response.aggregations, 'time').map((t): ReportRow => ({ period: periodOf(t), vms: t.doc_count, running: countOf(t, 'running') })),
};

/** The top --size values of field by the sum of metric, per month: one stacked bar chart of another index family. */
function monthlySplit(name: string, indexBase: string, field: string, metric: string, what: string): ReportPanel {
  return {
    name,
    description: `${what} per ${field} (the largest --size first) and month: records and the sum of ${metric}`,
    savedObject: `tally-cloud-${name}`,
    indexBase,
    fields: [field, timeField, metric],
    columns: [
      { key: field, title: field },
      { key: 'period', title: 'period' },
      { key: 'records', title: 'records', numeric: true },
      { key: metric, title: metric, numeric: true },
    ],
    search: (params) => ({ size: 0, aggs: { key: topBy(field, metric, params.size, { time: byMonth({ [metric]: sum(metric) }) }) } }),
    rows: (response) => buckets(response.aggregations, 'key').flatMap((k) => buckets(k, 'time').map((t): ReportRow => ({ [field]: String(k.key), period: periodOf(t), records: t.doc_count, [metric]: valueOf(t, metric) }))),
  };
}

export const cloudReport: ReportFamily = {
  name: 'cloud',
  description: "the Cloud usage dashboard's panels over <prefix>cloud-vm-* (and cloud-accelerator, cloud-storage, cloud-ip, cloud-energy), per calendar month",
  indexBase: 'cloud-vm',
  timeField,
  panels: [
    usageOverTime,
    hoursBy('hours-by-vo', 'vo', 'VOs'),
    hoursBy('hours-by-project', 'local_group_id', 'projects'),
    hoursBy('hours-by-site', 'site_name', 'sites'),
    topVos,
    cpuEfficiency,
    runningVms,
    monthlySplit('accelerator-hours', 'cloud-accelerator', 'model', 'accelerator_hours', 'accelerator hours'),
    monthlySplit('storage-capacity', 'cloud-storage', 'vo', 'capacity_gb', 'storage capacity in GiB'),
    monthlySplit('public-ips', 'cloud-ip', 'vo', 'ip_count', 'public IPs'),
    monthlySplit('energy-usage', 'cloud-energy', 'owner', 'energy_kwh', 'energy in kWh'),
  ],
};
