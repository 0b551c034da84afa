import type { EsCapabilities } from '../../../pipeline/elasticsearch/capabilities.js';
import { TallyError } from '../../../pipeline/errors.js';
import { dataStreamName, monthlyIndex } from './index-name.js';

/**
 * How an index family is laid out.
 * - monthly: <prefix><base>-YYYY.MM by the record's own time, `index` with the record id. The same
 *   record always lands in the same index, so a replay overwrites, however late it comes.
 * - data-stream: <prefix><base>-stream, `create` with the record id, ILM rollover. A replay into the
 *   backing index that still holds the record answers 409 (counted as written), but a record replayed
 *   after a rollover is written again into the new backing index: a duplicate. That breaks "nothing
 *   doubled", so it is chosen explicitly, never by default.
 */
export const indexLayouts = ['monthly', 'data-stream'] as const;
export type IndexLayout = (typeof indexLayouts)[number];
export const defaultLayout: IndexLayout = 'monthly';

export function parseLayout(value: string): IndexLayout {
  if ((indexLayouts as readonly string[]).includes(value)) return value as IndexLayout;
  throw new TallyError('USAGE', `index layout "${value}" is not one of ${indexLayouts.join(', ')}`);
}

/** The layout to use on this cluster: a data stream needs the data-streams module. */
export function resolveLayout(requested: IndexLayout, capabilities: Pick<EsCapabilities, 'dataStreams' | 'modules'>): IndexLayout {
  if (requested === 'data-stream' && !capabilities.dataStreams) {
    throw new TallyError('ES_PERMANENT', `the data-stream layout needs the Elasticsearch data-streams module, which this node lacks (modules: ${capabilities.modules.join(', ')}); use the monthly layout`);
  }
  return requested;
}

export type BulkOperation = 'index' | 'create';

export interface WriteTarget {
  index: string;
  operation: BulkOperation;
}

/** Where one record goes and with which bulk operation; adds @timestamp for a data stream. */
export function writeTarget(layout: IndexLayout, prefix: string, base: string, timeMs: number | undefined): WriteTarget {
  if (layout === 'data-stream') return { index: dataStreamName(prefix, base), operation: 'create' };
  return { index: monthlyIndex(prefix, base, timeMs), operation: 'index' };
}

export function documentFor(layout: IndexLayout, document: Record<string, unknown>, timeMs: number | undefined): Record<string, unknown> {
  if (layout !== 'data-stream' || timeMs === undefined) return document;
  return { '@timestamp': new Date(timeMs).toISOString(), ...document };
}
