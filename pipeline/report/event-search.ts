import type { Client, estypes } from '@elastic/elasticsearch';
import { TallyError } from '../errors.js';
import type { EventDocument } from '../format/field-path.js';

/** The two index families of the audit path, by the short names the commands take. */
export const eventFamilies = { ops: 'ops-logs', audit: 'audit-events' } as const;
export type EventFamily = keyof typeof eventFamilies;

export function eventFamily(name: string): EventFamily {
  if (Object.hasOwn(eventFamilies, name)) return name as EventFamily;
  throw new TallyError('USAGE', `--index must be ${Object.keys(eventFamilies).join(' or ')}, not "${name}"`);
}

/** <prefix>ops-logs-*,<prefix>audit-events-* (or the ones named). */
export function eventIndices(indexPrefix: string, families: readonly EventFamily[] = ['ops', 'audit']): string {
  return families.map((f) => `${indexPrefix}${eventFamilies[f]}-*`).join(',');
}

/**
 * Event order: time, then the line's place in its file (two lines of one millisecond keep the
 * file's order), then the id, so paging with search_after never skips or repeats an event.
 */
export const eventOrder: estypes.Sort = [
  { timestamp: { order: 'asc' } },
  { 'log.offset': { order: 'asc', missing: '_last', unmapped_type: 'long' } },
  { id: { order: 'asc', unmapped_type: 'keyword' } },
];

const pageSize = 1000;

/** Every event that matches, in event order, up to `size` of them (search_after pages, so past the 10 000 window too). */
export async function searchEvents(client: Client, options: { index: string; query: estypes.QueryDslQueryContainer; size: number }): Promise<{ events: EventDocument[]; truncated: boolean }> {
  const events: EventDocument[] = [];
  let after: estypes.SortResults | undefined;
  for (;;) {
    const wanted = Math.min(pageSize, options.size - events.length + 1);
    const response = await client.search<EventDocument>({
      index: options.index,
      ignore_unavailable: true,
      allow_no_indices: true,
      track_total_hits: false,
      query: options.query,
      sort: eventOrder,
      size: wanted,
      ...(after ? { search_after: after } : {}),
    });
    const hits = response.hits.hits;
    for (const hit of hits) if (hit._source) events.push(hit._source);
    if (events.length > options.size) return { events: events.slice(0, options.size), truncated: true };
    if (hits.length < wanted) return { events, truncated: false };
    after = hits[hits.length - 1]?.sort;
    if (!after) return { events, truncated: false };
  }
}

/** The [from, to] filter on the events' time field; either end may be left open. */
export function timeRange(from: string | undefined, to: string | undefined): estypes.QueryDslQueryContainer[] {
  if (from === undefined && to === undefined) return [];
  return [{ range: { timestamp: { ...(from !== undefined ? { gte: from } : {}), ...(to !== undefined ? { lte: to } : {}) } } }];
}
