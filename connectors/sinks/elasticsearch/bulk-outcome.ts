import { errors } from '@elastic/elasticsearch';
import type { RejectionReason } from '../../../pipeline/dlq.js';
import { TallyError, messageOf } from '../../../pipeline/errors.js';
import type { BulkOperation } from './layout.js';

/** How one bulk item ended: written, retriable (back off and send again), or permanent (dead letter). */
export type ItemOutcome = { kind: 'written' } | { kind: 'retry'; reason: string } | { kind: 'permanent'; reason: RejectionReason };

export interface ItemError {
  type?: string;
  reason?: string | null;
  caused_by?: ItemError | null;
}

/**
 * Error types that describe the cluster's state, not the document: an operator or time fixes them,
 * so the document waits (a flood-stage disk block, a closed or missing index, a shard moving).
 */
const clusterStateErrors = new Set([
  'cluster_block_exception',
  'index_closed_exception',
  'index_not_found_exception',
  'es_rejected_execution_exception',
  'circuit_breaking_exception',
  'unavailable_shards_exception',
  'no_shard_available_action_exception',
  'process_cluster_event_timeout_exception',
  'node_closed_exception',
]);

export function classifyItem(status: number, error: ItemError | null | undefined, operation: BulkOperation = 'index', versioned = false): ItemOutcome {
  if (status >= 200 && status < 300) return { kind: 'written' };
  // a versioned snapshot older than the one stored: the newer one stays, which is what was wanted
  if (status === 409 && versioned && error?.type === 'version_conflict_engine_exception') return { kind: 'written' };
  // create with an id that exists: the record is already there (data streams, a replay)
  if (status === 409 && operation === 'create') return { kind: 'written' };
  if (status === 0 || status === 408 || status === 409 || status === 429 || status >= 500 || clusterStateErrors.has(error?.type ?? '')) {
    // the bulk helper reports a 429 item without its error (it strips it when it gives up retrying)
    const detail = error ? `${error.type ?? ''} ${error.reason ?? ''}` : status === 429 ? 'too many requests' : '';
    return { kind: 'retry', reason: `${status} ${detail}`.replace(/\s+/g, ' ').trim() };
  }
  const causes: string[] = [];
  for (let cause = error?.caused_by; cause && causes.length < 3; cause = cause.caused_by) causes.push(`${cause.type ?? 'cause'}: ${cause.reason ?? ''}`.trim());
  return {
    kind: 'permanent',
    reason: {
      code: 'ES_PERMANENT',
      rule: error?.type ?? `http ${status}`,
      message: `Elasticsearch refused the document (${status} ${error?.type ?? 'error'}): ${error?.reason ?? 'no reason given'}${causes.length ? `; caused by ${causes.join('; ')}` : ''}`,
    },
  };
}

/**
 * A whole bulk request failed: nothing is known of its items, so every one of them is retried.
 * Unreachable, timed out, overloaded → ES_RETRIABLE; refused as a request (auth, too large, a proxy
 * that is not Elasticsearch) → ES_PERMANENT, which is still retried (nothing is dropped) but logged
 * as an error an operator must fix.
 */
export function requestFailure(error: unknown): TallyError {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const body = error.body as { error?: { type?: string; reason?: string } | string } | undefined;
    const detail = typeof body?.error === 'string' ? body.error : [body?.error?.type, body?.error?.reason].filter(Boolean).join(': ');
    const message = `bulk request answered ${status}${detail ? ` (${detail})` : ''}`;
    if (status === 408 || status === 429 || status >= 500 || status === 0) return new TallyError('ES_RETRIABLE', message, { cause: error });
    const hint = status === 413 ? '; lower sinks.elasticsearch.flushBytes below the cluster\'s http.max_content_length' : status === 401 || status === 403 ? '; check the Elasticsearch credentials and their privileges' : '';
    return new TallyError('ES_PERMANENT', `${message}${hint}`, { cause: error, retriable: false });
  }
  if (error instanceof errors.ProductNotSupportedError || error instanceof errors.ConfigurationError) return new TallyError('ES_PERMANENT', `bulk request failed: ${error.message}`, { cause: error, retriable: false });
  if (error instanceof errors.ElasticsearchClientError) return new TallyError('ES_RETRIABLE', `bulk request failed: ${error.name}: ${messageOf(error)}`, { cause: error });
  return new TallyError('ES_PERMANENT', `bulk request failed unexpectedly: ${messageOf(error)}`, { cause: error, retriable: false });
}
