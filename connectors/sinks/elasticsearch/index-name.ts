/** Monthly time-based index for a record: <prefix><base>-YYYY.MM, from its time in ms since the epoch (UTC). */
export function monthlyIndex(prefix: string, base: string, timeMs: number | undefined): string {
  if (timeMs === undefined || !Number.isFinite(timeMs)) return `${prefix}${base}-undated`;
  const date = new Date(timeMs);
  return `${prefix}${base}-${date.getUTCFullYear()}.${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The one data stream of an index family; it matches the same <prefix><base>-* template pattern. */
export function dataStreamName(prefix: string, base: string): string {
  return `${prefix}${base}-stream`;
}

/** The wildcard that covers every index (or data stream) of a family: templates, reports and Kibana use it. */
export function indexPattern(prefix: string, base: string): string {
  return `${prefix}${base}-*`;
}
