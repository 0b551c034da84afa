import { errors, type Client } from '@elastic/elasticsearch';
import type { RejectionReason } from '../../../pipeline/dlq.js';
import type { TallyError } from '../../../pipeline/errors.js';
import type { PreparedDocument } from './batch.js';
import { classifyItem, requestFailure, type ItemError } from './bulk-outcome.js';

export interface BulkTuning {
  /** bulk requests in flight at once */
  concurrency: number;
  /** the largest bulk request body */
  flushBytes: number;
  /** how long one bulk request may take (default: the client's elasticsearch.requestTimeoutMs) */
  requestTimeoutMs?: number;
}

/** What one pass over the documents achieved. Every document is in exactly one of the three. */
export interface BulkPass {
  written: number;
  refused: { document: PreparedDocument; reason: RejectionReason }[];
  retry: PreparedDocument[];
  /** why something is retried: the first item reason, or the request failure */
  retryReason?: string;
  requestError?: TallyError;
  /** a request timed out: Elasticsearch may still be executing it */
  timedOut?: boolean;
}

const minimumFlushBytes = 64 * 1024;

/**
 * One pass of documents through the client's bulk helper. The helper is told never to retry
 * (retries: 0): with retries it re-sends 429 items after a fixed wait and then reports them through
 * onDrop as 429, and it re-sends nothing else, so retrying here, in one place with backoff, is
 * simpler and says the same. Whole-request failures (connection refused, timeout, 5xx, 429 for the
 * request) make the helper reject; then nothing is known of any item and all are retried.
 */
export async function bulkPass(client: Client, documents: PreparedDocument[], tuning: BulkTuning): Promise<BulkPass> {
  const bySlot = new Map<string, PreparedDocument>();
  let bytes = 0;
  for (const document of documents) {
    bySlot.set(`${document.index}\u0000${document.id}`, document);
    bytes += document.json.length + document.index.length + document.id.length + 40;
  }
  const refused: BulkPass['refused'] = [];
  const retry: PreparedDocument[] = [];
  let retryReason: string | undefined;
  // a batch smaller than concurrency × flushBytes is still spread over every connection
  const flushBytes = Math.max(minimumFlushBytes, Math.min(tuning.flushBytes, Math.ceil(bytes / tuning.concurrency)));
  try {
    const stats = await client.helpers.bulk<PreparedDocument>({
      datasource: documents,
      onDocument: (d) =>
        d.operation === 'create'
          ? [{ create: { _index: d.index, _id: d.id } }, d.json]
          : [{ index: { _index: d.index, _id: d.id, ...(d.version !== undefined ? { version: d.version, version_type: 'external_gte' as const } : {}) } }, d.json],
      concurrency: tuning.concurrency,
      flushBytes,
      flushInterval: 60_000,
      retries: 0,
      // only what classifying the items needs: the response of a 5,000-document bulk shrinks ≈ 10×
      filter_path: 'errors,items.*.status,items.*.error',
      onDrop: (dropped) => {
        // the helper hands back the action line it sent (deserialised), not the datasource item
        const [operation, meta] = Object.entries(dropped.operation as unknown as Record<string, { _index?: string; _id?: string }>)[0] ?? ['?', {}];
        const document = bySlot.get(`${meta._index ?? ''}\u0000${meta._id ?? ''}`);
        if (!document) throw new Error(`bulk helper dropped an item this pass did not send: ${operation} ${meta._index}/${meta._id}`);
        const outcome = classifyItem(dropped.status, dropped.error as ItemError | null, document.operation, document.version !== undefined);
        if (outcome.kind === 'retry') {
          retry.push(document);
          retryReason ??= outcome.reason;
        } else if (outcome.kind === 'permanent') refused.push({ document, reason: outcome.reason });
      },
    }, tuning.requestTimeoutMs ? { requestTimeout: tuning.requestTimeoutMs } : {});
    if (stats.aborted) throw new Error('bulk helper aborted');
  } catch (error) {
    const failure = requestFailure(error);
    return { written: 0, refused: [], retry: documents, retryReason: failure.message, requestError: failure, ...(error instanceof errors.TimeoutError ? { timedOut: true } : {}) };
  }
  return { written: documents.length - refused.length - retry.length, refused, retry, ...(retryReason ? { retryReason } : {}) };
}
