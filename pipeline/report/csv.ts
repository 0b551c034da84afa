import { stringify } from 'csv-stringify/sync';
import { formatValue, type ReportColumn, type ReportRow, type ReportValue } from './panel.js';

/**
 * OWASP's CSV-injection rule: a text cell starting with = + - @ TAB or CR is read as a formula by
 * spreadsheets (`=cmd|' /C calc'!A0`), so it gets a leading apostrophe and is shown as text.
 * Numbers stay numbers (a negative sum is data, not a formula).
 */
const formulaStart = /^[=+\-@\t\r]/;

export function neutraliseCell(value: ReportValue): string {
  const text = formatValue(value);
  return typeof value === 'string' && formulaStart.test(text) ? `'${text}` : text;
}

/** A report as RFC 4180 CSV: a header row of the column titles, then one row per result row. */
export function renderCsv(columns: ReportColumn[], rows: ReportRow[]): string {
  const header = columns.map((c) => neutraliseCell(c.title));
  const body = rows.map((row) => columns.map((c) => neutraliseCell(row[c.key] ?? null)));
  return stringify([header, ...body], { record_delimiter: 'windows', quoted_match: /^\s|\s$/ });
}
