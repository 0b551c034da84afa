import type { estypes } from '@elastic/elasticsearch';
import { textOf, valueAt } from '../format/field-path.js';
import type { ReportFamily, ReportPanel, ReportRow } from './panel.js';

/**
 * The "Audit" dashboard (schemas/kibana/audit.ndjson) as queries over audit.events: the Nova
 * audit-logging spec's manager and auditor questions (7-day actives, largest users, hourly activity,
 * failed and refused actions) and ROR's per-tenant operations. Ordered as the Lens panels order
 * (the panel's count, ties by key), without Lens's "other" bucket.
 */

interface Bucket {
  key: string | number;
  key_as_string?: string;
  doc_count: number;
  [sub: string]: unknown;
}

const bucketsOf = (container: unknown, name: string): Bucket[] => ((container as Record<string, { buckets?: Bucket[] }> | undefined)?.[name]?.buckets ?? []) as Bucket[];
const valueOf = (container: unknown, name: string): number => ((container as Record<string, { value?: number | null }> | undefined)?.[name]?.value ?? 0);
const countOf = (container: unknown, name: string): number => ((container as Record<string, { doc_count?: number }> | undefined)?.[name]?.doc_count ?? 0);
const byCount = [{ _count: 'desc' as const }, { _key: 'asc' as const }];
/** Exact distinct counts up to 40 000 values (Elasticsearch's ceiling for cardinality). */
const distinct = (field: string): estypes.AggregationsAggregationContainer => ({ cardinality: { field, precision_threshold: 40_000 } });

/** Elasticsearch date math for `span` before `to` (now-7d, 2026-04-10T00:00:00Z||-7d). */
export function dateMathBefore(to: string, span: string): string {
  return to.startsWith('now') || to.includes('||') ? `${to}-${span}` : `${to}||-${span}`;
}

const activeUsers: ReportPanel = {
  name: 'active-users',
  description: '7-day actives: the distinct users (user.id) who acted in the 7 days up to --to (within --from), and their events',
  savedObject: 'tally-audit-active-users',
  fields: ['user.id'],
  columns: [
    { key: 'since', title: 'since' },
    { key: 'active_users', title: 'active_users', numeric: true },
    { key: 'events', title: 'events', numeric: true },
  ],
  search: (params) => ({
    size: 0,
    aggs: { window: { date_range: { field: 'timestamp', ranges: [{ key: 'last-7-days', from: dateMathBefore(params.to, '7d') }] }, aggs: { users: distinct('user.id'), acting: { filter: { exists: { field: 'user.id' } } } } } },
  }),
  rows: (response) =>
    bucketsOf(response.aggregations, 'window').map((w): ReportRow => ({ since: (w as { from_as_string?: string }).from_as_string ?? null, active_users: valueOf(w, 'users'), events: countOf(w, 'acting') })),
};

const largestUsers: ReportPanel = {
  name: 'largest-users',
  description: 'the users with the most audit events in the range (--size of them): events and distinct actions',
  savedObject: 'tally-audit-largest-users',
  fields: ['user.id', 'event.action'],
  columns: [
    { key: 'user.id', title: 'user.id' },
    { key: 'events', title: 'events', numeric: true },
    { key: 'actions', title: 'actions', numeric: true },
  ],
  search: (params) => ({ size: 0, aggs: { user: { terms: { field: 'user.id', size: params.size, order: byCount }, aggs: { actions: distinct('event.action') } } } }),
  rows: (response) => bucketsOf(response.aggregations, 'user').map((u): ReportRow => ({ 'user.id': String(u.key), events: u.doc_count, actions: valueOf(u, 'actions') })),
};

/**
 * The hours the Hourly activity panel shows: its own time range, the last 4 days. 96 hourly buckets
 * stay within Kibana's histogram:maxBars (100); over the dashboard's 7 days (168) Kibana would widen
 * the buckets to 3 hours, and distinct users per 3 hours is no number this report could give.
 */
export const hourlyActivityWindow = '4d';

const hourlyActivity: ReportPanel = {
  name: 'hourly-activity',
  description: 'audit events and distinct users per hour over the 4 days up to --to (within --from), the hours the panel shows; hours without events left out; --interval does not apply',
  savedObject: 'tally-audit-hourly-activity',
  fields: ['timestamp', 'user.id'],
  columns: [
    { key: 'hour', title: 'hour' },
    { key: 'events', title: 'events', numeric: true },
    { key: 'users', title: 'users', numeric: true },
  ],
  search: (params) => ({
    size: 0,
    aggs: {
      window: {
        filter: { range: { timestamp: { gte: dateMathBefore(params.to, hourlyActivityWindow) } } },
        aggs: { hour: { date_histogram: { field: 'timestamp', calendar_interval: 'hour', min_doc_count: 1 }, aggs: { users: distinct('user.id') } } },
      },
    },
  }),
  rows: (response) => bucketsOf((response.aggregations as Record<string, unknown> | undefined)?.window, 'hour').map((h): ReportRow => ({ hour: h.key_as_string ?? String(h.key), events: h.doc_count, users: valueOf(h, 'users') })),
};

/** The Lens panel's query: event.outcome : "failure" or event.type : "denied". */
const failedOrDenied: estypes.QueryDslQueryContainer = { bool: { should: [{ term: { 'event.outcome': 'failure' } }, { term: { 'event.type': 'denied' } }], minimum_should_match: 1 } };

const failuresByUser: ReportPanel = {
  name: 'failures-by-user',
  description: 'failed (event.outcome failure) and refused (event.type denied: a 401/403) actions per user and action, the most first',
  savedObject: 'tally-audit-failures-by-user',
  fields: ['user.id', 'event.action', 'event.outcome', 'event.type'],
  columns: [
    { key: 'user.id', title: 'user.id' },
    { key: 'action', title: 'action' },
    { key: 'events', title: 'events', numeric: true },
    { key: 'failed', title: 'failed', numeric: true },
    { key: 'denied', title: 'denied', numeric: true },
  ],
  search: (params) => ({
    size: 0,
    aggs: {
      failing: {
        filter: failedOrDenied,
        aggs: {
          user: {
            terms: { field: 'user.id', size: params.size, order: byCount, missing: '-' },
            aggs: { action: { terms: { field: 'event.action', size: params.size, order: byCount }, aggs: { failed: { filter: { term: { 'event.outcome': 'failure' } } }, denied: { filter: { term: { 'event.type': 'denied' } } } } } },
          },
        },
      },
    },
  }),
  rows: (response) =>
    bucketsOf((response.aggregations as Record<string, unknown> | undefined)?.failing, 'user').flatMap((u) =>
      bucketsOf(u, 'action').map((a): ReportRow => ({ 'user.id': String(u.key), action: String(a.key), events: a.doc_count, failed: countOf(a, 'failed'), denied: countOf(a, 'denied') })),
    ),
};

const tenantOperations: ReportPanel = {
  name: 'tenant-operations',
  description: 'ROR operations per tenant (project.name) and operation type, the busiest tenant first',
  savedObject: 'tally-audit-tenant-operations',
  fields: ['event.module', 'project.name', 'event.action', 'event.outcome'],
  columns: [
    { key: 'tenant', title: 'tenant' },
    { key: 'action', title: 'action' },
    { key: 'operations', title: 'operations', numeric: true },
    { key: 'failed', title: 'failed', numeric: true },
  ],
  search: (params) => ({
    size: 0,
    aggs: {
      ror: {
        filter: { term: { 'event.module': 'ror' } },
        aggs: {
          tenant: {
            terms: { field: 'project.name', size: params.size, order: byCount },
            aggs: { action: { terms: { field: 'event.action', size: 100, order: byCount }, aggs: { failed: { filter: { term: { 'event.outcome': 'failure' } } } } } },
          },
        },
      },
    },
  }),
  rows: (response) =>
    bucketsOf((response.aggregations as Record<string, unknown> | undefined)?.ror, 'tenant').flatMap((t) =>
      bucketsOf(t, 'action').map((a): ReportRow => ({ tenant: String(t.key), action: String(a.key), operations: a.doc_count, failed: countOf(a, 'failed') })),
    ),
};

const trailFields = ['timestamp', 'user.id', 'project.name', 'project.id', 'event.action', 'event.outcome', 'service.name', 'source.ip', 'target.type', 'target.id', 'transaction_id'];

const trail: ReportPanel = {
  name: 'trail',
  description: 'the latest audit events (--size of them): who did what, from which tenant and address, to what, and whether it worked',
  savedObject: 'tally-audit-trail',
  fields: trailFields,
  columns: trailFields.map((key) => ({ key, title: key })),
  search: (params) => ({ size: params.size, sort: [{ timestamp: { order: 'desc' } }, { id: { order: 'asc' } }] as estypes.Sort, _source: trailFields }),
  rows: (response) => response.hits.hits.map((hit) => Object.fromEntries(trailFields.map((f) => [f, textOf(valueAt(hit._source, f)) ?? null])) as ReportRow),
};

export const auditReport: ReportFamily = {
  name: 'audit',
  description: "the Audit dashboard's panels over <prefix>audit-events-*",
  indexBase: 'audit-events',
  timeField: 'timestamp',
  panels: [activeUsers, largestUsers, hourlyActivity, failuresByUser, tenantOperations, trail],
};
