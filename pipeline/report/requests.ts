import type { Client, estypes } from '@elastic/elasticsearch';
import { TallyError } from '../errors.js';
import { textOf, valueAt, type EventDocument } from '../format/field-path.js';
import { withStackTrace } from '../format/stack.js';
import { compileFormat, type EventFormat } from '../format/template.js';
import { levelNumberOf } from '../normalise/oslo/log-event.js';
import { eventIndices, searchEvents, timeRange } from './event-search.js';
import type { ReportColumn } from './panel.js';

/**
 * LogCAS's request list and request detail over ops.logs and audit.events: a request is a
 * transaction_id (the req-… of one service); its trace_id is the global request it belongs to.
 * The Requests dashboard (schemas/kibana/ops-logs.ndjson) shows the same: its requests table and
 * its request story search.
 */

export interface RequestsQuery {
  from: string;
  to: string;
  /** requests per page */
  size: number;
  /** only requests with an event at this level or higher (WARNING, 30, …) */
  level?: string;
  /** only requests that touched this service (service.name) */
  service?: string;
  /** the cursor printed under the previous page: the last transaction_id it listed */
  after?: string;
}

export interface RequestRow {
  transaction_id: string;
  trace_id: string | null;
  first: string | null;
  last: string | null;
  services: string;
  /** the highest log level of the request's log events (audit events have none) */
  level: string | null;
  /** ops.logs events */
  events: number;
  /** audit.events events */
  audit: number;
  [key: string]: string | number | null;
}

export interface RequestsPage {
  index: string;
  rows: RequestRow[];
  /** pass as --after for the next page; absent on the last page */
  next?: string;
}

export const requestColumns: ReportColumn[] = [
  { key: 'transaction_id', title: 'transaction_id' },
  { key: 'trace_id', title: 'trace_id' },
  { key: 'first', title: 'first' },
  { key: 'last', title: 'last' },
  { key: 'services', title: 'services' },
  { key: 'level', title: 'level' },
  { key: 'events', title: 'events', numeric: true },
  { key: 'audit', title: 'audit', numeric: true },
];

/** The saved objects that show the same in Kibana, and the fields they read (test/schemas/kibana-audit.test.ts compares). */
export const requestsListing = { savedObject: 'tally-ops-requests', fields: ['transaction_id', 'trace_id', 'timestamp', 'service.name', 'log.level_number'] };
export const requestStorySearch = { savedObject: 'tally-ops-request-story' };

const levelNames = new Map<number, string>([
  [5, 'TRACE'],
  [10, 'DEBUG'],
  [20, 'INFO'],
  [21, 'AUDIT'],
  [30, 'WARNING'],
  [40, 'ERROR'],
  [50, 'CRITICAL'],
]);

/** A --level value: a level name (WARNING, warn, ERROR, …) or a Python level number. */
export function levelThreshold(level: string): number {
  if (/^\d+$/.test(level)) return Number(level);
  const number = levelNumberOf(level);
  if (number === 0) throw new TallyError('USAGE', `--level must be a log level (TRACE, DEBUG, INFO, AUDIT, WARNING, ERROR, CRITICAL) or a number, not "${level}"`);
  return number;
}

interface Bucket {
  key: unknown;
  doc_count: number;
  [sub: string]: unknown;
}

const bucketsOf = (container: unknown, name: string): Bucket[] => ((container as Record<string, { buckets?: Bucket[] }> | undefined)?.[name]?.buckets ?? []) as Bucket[];
const metric = (bucket: Bucket, name: string) => bucket[name] as { value: number | null; value_as_string?: string } | undefined;

/**
 * One page of requests. Paging is a composite aggregation over transaction_id (so the order is the
 * ids', and --after continues exactly where a page ended); --level and --service pick which requests
 * are listed, and each listed request is then counted whole within the range: all its events, all
 * its services, its highest level.
 */
export async function listRequests(client: Client, options: RequestsQuery & { indexPrefix: string }): Promise<RequestsPage> {
  const index = eventIndices(options.indexPrefix);
  const range = timeRange(options.from, options.to);
  const picking: estypes.QueryDslQueryContainer[] = [
    ...range,
    ...(options.level !== undefined ? [{ range: { 'log.level_number': { gte: levelThreshold(options.level) } } }] : []),
    ...(options.service !== undefined ? [{ term: { 'service.name': options.service } }] : []),
  ];
  const page = await client.search({
    index,
    ignore_unavailable: true,
    allow_no_indices: true,
    size: 0,
    track_total_hits: false,
    query: { bool: { filter: picking } },
    aggs: {
      requests: {
        composite: { size: options.size, sources: [{ transaction_id: { terms: { field: 'transaction_id' } } }], ...(options.after !== undefined ? { after: { transaction_id: options.after } } : {}) },
      },
    },
  });
  const ids = bucketsOf(page.aggregations, 'requests').map((b) => String((b.key as { transaction_id: string }).transaction_id));
  if (ids.length === 0) return { index, rows: [] };

  const whole = await client.search({
    index,
    ignore_unavailable: true,
    allow_no_indices: true,
    size: 0,
    track_total_hits: false,
    query: { bool: { filter: [...range, { terms: { transaction_id: ids } }] } },
    aggs: {
      requests: {
        terms: { field: 'transaction_id', size: ids.length },
        aggs: {
          first: { min: { field: 'timestamp' } },
          last: { max: { field: 'timestamp' } },
          level: { max: { field: 'log.level_number' } },
          services: { terms: { field: 'service.name', size: 50, order: { _key: 'asc' } } },
          trace: { terms: { field: 'trace_id', size: 1 } },
          audit: { filter: { exists: { field: 'event.action' } } },
        },
      },
    },
  });
  const byId = new Map(bucketsOf(whole.aggregations, 'requests').map((b) => [String(b.key), b]));
  const rows = ids.map((id): RequestRow => {
    const bucket = byId.get(id);
    const audit = (bucket?.audit as { doc_count?: number } | undefined)?.doc_count ?? 0;
    const level = bucket ? metric(bucket, 'level')?.value : null;
    return {
      transaction_id: id,
      trace_id: bucket ? (bucketsOf(bucket, 'trace')[0]?.key as string | undefined) ?? null : null,
      first: bucket ? metric(bucket, 'first')?.value_as_string ?? null : null,
      last: bucket ? metric(bucket, 'last')?.value_as_string ?? null : null,
      services: bucket ? bucketsOf(bucket, 'services').map((s) => String(s.key)).join(',') : '',
      level: level === null || level === undefined ? null : levelNames.get(level) ?? String(level),
      events: (bucket?.doc_count ?? 0) - audit,
      audit,
    };
  });
  const next = ids.length === options.size ? ids[ids.length - 1] : undefined;
  return { index, rows, ...(next !== undefined ? { next } : {}) };
}

export interface StoryQuery {
  /** a transaction_id or a trace_id */
  id: string;
  from?: string;
  to?: string;
  /** at most this many events */
  size: number;
}

export interface RequestStory {
  id: string;
  /** the global requests the id belongs to (its events' trace_id), whose whole story is told */
  traces: string[];
  index: string;
  events: EventDocument[];
  /** more events matched than --size */
  truncated: boolean;
}

/**
 * Every event of a request, in time order, across services and across both models: the events whose
 * transaction_id or trace_id is the id, and, when the id is one service's part of a global request,
 * the whole global request (its trace_id as either).
 */
export async function requestStory(client: Client, options: StoryQuery & { indexPrefix: string }): Promise<RequestStory> {
  const index = eventIndices(options.indexPrefix);
  const range = timeRange(options.from, options.to);
  const matching = (ids: string[]): estypes.QueryDslQueryContainer => ({
    bool: { filter: range, should: [{ terms: { transaction_id: ids } }, { terms: { trace_id: ids } }], minimum_should_match: 1 },
  });
  const seen = await client.search({
    index,
    ignore_unavailable: true,
    allow_no_indices: true,
    size: 0,
    track_total_hits: false,
    query: matching([options.id]),
    aggs: { traces: { terms: { field: 'trace_id', size: 20, order: { _key: 'asc' } } } },
  });
  const traces = bucketsOf(seen.aggregations, 'traces').map((b) => String(b.key)).filter((t) => t !== options.id);
  const { events, truncated } = await searchEvents(client, { index, query: matching([options.id, ...traces]), size: options.size });
  return { id: options.id, traces, index, events, truncated };
}

/** How the story prints an event: time, level (audit events: AUDIT), the process or service, host, request, what happened. */
export const storyFormats = {
  ops: compileFormat('{timestamp} {log.level:8} {process.name|service.name:14} {host.name} [{transaction_id}] {message}'),
  audit: compileFormat('{timestamp} AUDIT    {service.name:14} {host.name} [{transaction_id}] {event.action} {event.outcome} by {user.name|user.id}'),
};

/** The story as text: a heading, then each event's line with its stack trace under it. */
export function renderStory(story: RequestStory, format?: EventFormat): string {
  if (story.events.length === 0) return `request ${story.id}: no events in ${story.index}\n`;
  const services = [...new Set(story.events.map((e) => textOf(valueAt(e, 'service.name'))).filter((s): s is string => s !== undefined))].sort();
  const first = textOf(valueAt(story.events[0], 'timestamp'));
  const last = textOf(valueAt(story.events[story.events.length - 1], 'timestamp'));
  const global = story.traces.length ? ` (global request ${story.traces.join(', ')})` : '';
  const heading = `request ${story.id}${global}: ${story.events.length} events from ${first} to ${last}, services ${services.join(', ') || '-'}`;
  const lines = story.events.flatMap((event) => withStackTrace(event, format ?? (typeof valueAt(event, 'event.action') === 'string' ? storyFormats.audit : storyFormats.ops)));
  const more = story.truncated ? [`(more events than --size ${story.events.length}: narrow with --from/--to or raise --size)`] : [];
  return [heading, ...lines, ...more].join('\n') + '\n';
}
