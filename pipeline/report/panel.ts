import type { Client, estypes } from '@elastic/elasticsearch';
import { TallyError } from '../errors.js';

export interface ReportParams {
  /** Elasticsearch date math or ISO 8601 */
  from: string;
  to: string;
  /** top-N buckets, or rows of a listing */
  size: number;
  /** date histogram interval: 1h, 1d, 1w, 1M … (calendar) or 30m, 6h … (fixed) */
  interval: string;
}

export const defaultReportParams: ReportParams = { from: 'now-30d', to: 'now', size: 10, interval: '1d' };

export type ReportValue = string | number | null;
export type ReportRow = Record<string, ReportValue>;

export interface ReportColumn {
  key: string;
  title: string;
  numeric?: boolean;
}

/** The query behind one dashboard panel, and how its answer becomes rows. */
export interface ReportPanel {
  name: string;
  description: string;
  /** id of the saved object in schemas/kibana that draws this panel */
  savedObject: string;
  /** the document fields the query reads (the Kibana test checks the panel reads the same) */
  fields: string[];
  /** the index family this panel reads when it is not its family's own (a dashboard over several families); same time field */
  indexBase?: string;
  columns: ReportColumn[];
  /** the search body without index and time filter */
  search(params: ReportParams): Omit<estypes.SearchRequest, 'index' | 'query'>;
  rows(response: estypes.SearchResponse<Record<string, unknown>>): ReportRow[];
}

/** A `tally report <name> <panel>` family: its index family (a panel may name another), one time field, its dashboard's panels. */
export interface ReportFamily {
  name: string;
  description: string;
  indexBase: string;
  timeField: string;
  panels: ReportPanel[];
}

export interface ReportResult {
  family: string;
  panel: string;
  index: string;
  params: ReportParams;
  columns: ReportColumn[];
  rows: ReportRow[];
}

export function reportPanel(family: ReportFamily, name: string): ReportPanel {
  const panel = family.panels.find((p) => p.name === name);
  if (!panel) throw new TallyError('USAGE', `tally report ${family.name} has no panel "${name}"; it has ${family.panels.map((p) => p.name).join(', ')}`);
  return panel;
}

/** Run one panel's query over every index of the family, within [from, to]. */
export async function runReport(client: Client, family: ReportFamily, panelName: string, options: { indexPrefix: string; params?: Partial<ReportParams> }): Promise<ReportResult> {
  const panel = reportPanel(family, panelName);
  const params: ReportParams = { ...defaultReportParams, ...options.params };
  const index = `${options.indexPrefix}${panel.indexBase ?? family.indexBase}-*`;
  const response = await client.search<Record<string, unknown>>({
    index,
    ignore_unavailable: true,
    allow_no_indices: true,
    track_total_hits: false,
    query: { bool: { filter: [{ range: { [family.timeField]: { gte: params.from, lte: params.to } } }] } },
    ...panel.search(params),
  });
  return { family: family.name, panel: panel.name, index, params, columns: panel.columns, rows: panel.rows(response) };
}

/** Calendar units go to calendar_interval, multiples to fixed_interval (Elasticsearch takes only 1 of a calendar unit). */
export function histogramInterval(interval: string): { calendar_interval: estypes.AggregationsCalendarInterval } | { fixed_interval: string } {
  if (/^(minute|hour|day|week|month|quarter|year|1[mhdwMqy])$/.test(interval)) return { calendar_interval: interval as estypes.AggregationsCalendarInterval };
  if (/^\d+(ms|s|m|h|d)$/.test(interval)) return { fixed_interval: interval };
  throw new TallyError('USAGE', `"${interval}" is not a date histogram interval: use 1h, 1d, 1w, 1M, 1q, 1y or a fixed one such as 30m or 6h`);
}

/** Sums of doubles print without float noise (0.1 + 0.2 → 0.3); JSON output keeps the exact numbers. */
export function formatValue(value: ReportValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
  return value;
}

export function renderTable(columns: ReportColumn[], rows: ReportRow[]): string {
  const cells = rows.map((row) => columns.map((c) => formatValue(row[c.key] ?? null).replace(/\s+/g, ' ')));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => (columns[i]?.numeric ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}
