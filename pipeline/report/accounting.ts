import type { estypes } from '@elastic/elasticsearch';
import { histogramInterval, type ReportFamily, type ReportPanel, type ReportRow } from './panel.js';

/**
 * The "Accounting overview" dashboard (schemas/kibana/accounting.ndjson) as queries: each panel
 * asks Elasticsearch what its Lens visualization asks, ordered the same way (top-N by the panel's
 * metric, ties by key), without Lens's automatic interval and "other" bucket.
 */

interface Bucket {
  key: string | number;
  key_as_string?: string;
  doc_count: number;
  value?: { value: number | null };
  [sub: string]: unknown;
}

function buckets(container: unknown, name: string): Bucket[] {
  return ((container as Record<string, { buckets?: Bucket[] }> | undefined)?.[name]?.buckets ?? []) as Bucket[];
}

const byCount = [{ _count: 'desc' as const }, { _key: 'asc' as const }];
const signedValue = { value: { sum: { field: 'signed_value' } } };
const measureSplit = { measure: { terms: { field: 'measure', size: 10, order: byCount }, aggs: signedValue } };

function topPanel(name: string, field: string, title: string, what: string): ReportPanel {
  return {
    name,
    description: `${what} with the most records in the range, per measure: records and the sum of signed_value`,
    savedObject: `tally-accounting-${name}`,
    fields: [field, 'measure', 'signed_value'],
    columns: [
      { key: field, title },
      { key: 'measure', title: 'measure' },
      { key: 'records', title: 'records', numeric: true },
      { key: 'value', title: 'value', numeric: true },
    ],
    search: (params) => ({ size: 0, aggs: { top: { terms: { field, size: params.size, order: byCount }, aggs: measureSplit } } }),
    rows: (response) =>
      buckets(response.aggregations, 'top').flatMap((top) =>
        buckets(top, 'measure').map((m): ReportRow => ({ [field]: String(top.key), measure: String(m.key), records: m.doc_count, value: m.value?.value ?? 0 })),
      ),
  };
}

const usageByMeasure: ReportPanel = {
  name: 'usage-by-measure',
  description: 'sum of signed_value per measure and period (--interval), the measures with the largest sums first',
  savedObject: 'tally-accounting-usage-by-measure',
  fields: ['measure', 'timestamp', 'signed_value'],
  columns: [
    { key: 'measure', title: 'measure' },
    { key: 'period', title: 'period' },
    { key: 'records', title: 'records', numeric: true },
    { key: 'value', title: 'value', numeric: true },
  ],
  search: (params) => ({
    size: 0,
    aggs: {
      measure: {
        terms: { field: 'measure', size: params.size, order: [{ value: 'desc' }, { _key: 'asc' }] },
        aggs: { ...signedValue, time: { date_histogram: { field: 'timestamp', ...histogramInterval(params.interval), min_doc_count: 1 }, aggs: signedValue } },
      },
    },
  }),
  rows: (response) =>
    buckets(response.aggregations, 'measure').flatMap((m) =>
      buckets(m, 'time').map((t): ReportRow => ({ measure: String(m.key), period: t.key_as_string ?? String(t.key), records: t.doc_count, value: t.value?.value ?? 0 })),
    ),
};

const actionsByType: ReportPanel = {
  name: 'actions-by-type',
  description: 'records per action (the most frequent first), split by type +, - and 0',
  savedObject: 'tally-accounting-actions-by-type',
  fields: ['action', 'type'],
  columns: [
    { key: 'action', title: 'action' },
    { key: 'type', title: 'type' },
    { key: 'records', title: 'records', numeric: true },
  ],
  search: (params) => ({ size: 0, aggs: { action: { terms: { field: 'action', size: params.size, order: byCount }, aggs: { type: { terms: { field: 'type', size: 3, order: byCount } } } } } }),
  rows: (response) => buckets(response.aggregations, 'action').flatMap((a) => buckets(a, 'type').map((t): ReportRow => ({ action: String(a.key), type: String(t.key), records: t.doc_count }))),
};

const recentFields = ['timestamp', 'serviceid', 'userid', 'resource', 'action', 'value', 'measure', 'unit', 'type', 'comment'];

const recent: ReportPanel = {
  name: 'recent',
  description: 'the latest records (--size of them) with their comment',
  savedObject: 'tally-accounting-recent',
  fields: recentFields,
  columns: recentFields.map((key) => ({ key, title: key, ...(key === 'value' ? { numeric: true } : {}) })),
  search: (params) => ({ size: params.size, sort: [{ timestamp: { order: 'desc' } }] as estypes.Sort, _source: recentFields }),
  rows: (response) =>
    response.hits.hits.map((hit) => Object.fromEntries(recentFields.map((f) => [f, (hit._source?.[f] as string | number | undefined) ?? null])) as ReportRow),
};

export const accountingReport: ReportFamily = {
  name: 'accounting',
  description: 'the Accounting overview dashboard\'s panels over <prefix>accounting-usage-*',
  indexBase: 'accounting-usage',
  timeField: 'timestamp',
  panels: [usageByMeasure, topPanel('top-users', 'userid', 'userid', 'users'), topPanel('top-services', 'serviceid', 'serviceid', 'services'), topPanel('top-resources', 'resource', 'resource', 'resources'), actionsByType, recent],
};
