import type { estypes } from '@elastic/elasticsearch';
import { TallyError } from '../errors.js';
import { textOf, valueAt } from '../format/field-path.js';
import type { ReportFamily, ReportPanel, ReportParams, ReportRow } from './panel.js';

/**
 * The ops.logs panels of the "Requests" dashboard (schemas/kibana/ops-logs.ndjson) as queries: the
 * Nova audit-logging spec's rollout and performance questions (exceptions per second before and
 * after a rollout, API call latency percentiles) and the operator's warnings.
 */

/** The panels' parameters plus the moment exceptions-rollout compares before and after (`--at`). */
export interface RolloutParams extends ReportParams {
  /** Elasticsearch date math or ISO 8601 */
  at?: string;
}

interface Bucket {
  key: string | number;
  doc_count: number;
  from?: number;
  to?: number;
  from_as_string?: string;
  to_as_string?: string;
  [sub: string]: unknown;
}

const bucketsOf = (container: unknown, name: string): Bucket[] => ((container as Record<string, { buckets?: Bucket[] }> | undefined)?.[name]?.buckets ?? []) as Bucket[];
const byCount = [{ _count: 'desc' as const }, { _key: 'asc' as const }];

/** An exception: an event whose exception class is known (a traceback's last line, or the summary oslo.log appends to a WARNING+ line). */
const isException: estypes.QueryDslQueryContainer = { exists: { field: 'error_type' } };

const exceptionsRollout: ReportPanel = {
  name: 'exceptions-rollout',
  description: 'exceptions (events with an error_type) per second in [--from, --at) and [--at, --to), with the most frequent exception types',
  savedObject: 'tally-ops-exceptions-rollout',
  fields: ['timestamp', 'error_type'],
  columns: [
    { key: 'window', title: 'window' },
    { key: 'from', title: 'from' },
    { key: 'to', title: 'to' },
    { key: 'seconds', title: 'seconds', numeric: true },
    { key: 'exceptions', title: 'exceptions', numeric: true },
    { key: 'per_second', title: 'per_second', numeric: true },
    { key: 'types', title: 'types' },
  ],
  search: (params) => {
    const { at } = params as RolloutParams;
    if (at === undefined) throw new TallyError('USAGE', 'tally report ops exceptions-rollout compares before and after a moment: give it with --at <time> (the rollout, e.g. 2026-04-10T12:00:00Z)');
    return {
      size: 0,
      aggs: {
        exceptions: {
          filter: isException,
          aggs: {
            window: {
              date_range: { field: 'timestamp', ranges: [{ key: 'before', from: params.from, to: at }, { key: 'after', from: at, to: params.to }] },
              aggs: { types: { terms: { field: 'error_type', size: params.size, order: byCount } } },
            },
          },
        },
      },
    };
  },
  rows: (response) =>
    bucketsOf((response.aggregations as Record<string, unknown> | undefined)?.exceptions, 'window').map((w): ReportRow => {
      const seconds = w.from !== undefined && w.to !== undefined ? (w.to - w.from) / 1000 : null;
      return {
        window: String(w.key),
        from: w.from_as_string ?? null,
        to: w.to_as_string ?? null,
        seconds,
        exceptions: w.doc_count,
        per_second: seconds ? w.doc_count / seconds : null,
        types: bucketsOf(w, 'types').map((t) => `${t.key}:${t.doc_count}`).join(', '),
      };
    }),
};

const percents = [50, 90, 95, 99] as const;

const apiLatency: ReportPanel = {
  name: 'api-latency',
  description: 'WSGI API calls per service and endpoint (method and path), the most called first: calls and the 50th, 90th, 95th and 99th percentile of http.duration_ms',
  savedObject: 'tally-ops-api-latency',
  fields: ['service.name', 'http.method', 'http.path', 'http.duration_ms'],
  columns: [
    { key: 'service', title: 'service' },
    { key: 'method', title: 'method' },
    { key: 'path', title: 'path' },
    { key: 'calls', title: 'calls', numeric: true },
    ...percents.map((p) => ({ key: `p${p}`, title: `p${p}_ms`, numeric: true })),
  ],
  search: (params) => ({
    size: 0,
    aggs: {
      calls: {
        filter: { exists: { field: 'http.duration_ms' } },
        aggs: {
          service: {
            terms: { field: 'service.name', size: params.size, order: byCount },
            aggs: {
              path: {
                terms: { field: 'http.path', size: params.size, order: byCount },
                aggs: { method: { terms: { field: 'http.method', size: 10, order: byCount }, aggs: { latency: { percentiles: { field: 'http.duration_ms', percents: [...percents] } } } } },
              },
            },
          },
        },
      },
    },
  }),
  rows: (response) =>
    bucketsOf((response.aggregations as Record<string, unknown> | undefined)?.calls, 'service').flatMap((s) =>
      bucketsOf(s, 'path').flatMap((p) =>
        bucketsOf(p, 'method').map((m): ReportRow => {
          const values = (m.latency as { values?: Record<string, number | null> } | undefined)?.values ?? {};
          return {
            service: String(s.key),
            method: String(m.key),
            path: String(p.key),
            calls: m.doc_count,
            ...Object.fromEntries(percents.map((q) => [`p${q}`, values[`${q}.0`] ?? null])),
          };
        }),
      ),
    ),
};

const warningFields = ['timestamp', 'log.level', 'service.name', 'host.name', 'transaction_id', 'cloud_instance_id', 'error_type', 'message'];

const warnings: ReportPanel = {
  name: 'warnings',
  description: 'the latest WARNING-or-higher events (--size of them) with their request and exception',
  savedObject: 'tally-ops-warnings',
  fields: [...warningFields, 'log.level_number'],
  columns: warningFields.map((key) => ({ key, title: key })),
  search: (params) => ({
    size: params.size,
    post_filter: { range: { 'log.level_number': { gte: 30 } } },
    sort: [{ timestamp: { order: 'desc' } }, { id: { order: 'asc' } }] as estypes.Sort,
    _source: warningFields,
  }),
  rows: (response) => response.hits.hits.map((hit) => Object.fromEntries(warningFields.map((f) => [f, textOf(valueAt(hit._source, f)) ?? null])) as ReportRow),
};

export const opsReport: ReportFamily = {
  name: 'ops',
  description: "the Requests dashboard's analyses over <prefix>ops-logs-* (the requests themselves: tally report requests, tally report request <id>)",
  indexBase: 'ops-logs',
  timeField: 'timestamp',
  panels: [exceptionsRollout, apiLatency, warnings],
};
