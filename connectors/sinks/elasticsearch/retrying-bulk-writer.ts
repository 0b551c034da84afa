import type { Client } from '@elastic/elasticsearch';
import type { RejectionReason } from '../../../pipeline/dlq.js';
import type { ElasticsearchConfig } from '../../../pipeline/config/types.js';
import { esAuthError } from '../../../pipeline/elasticsearch/client.js';
import { TallyError, isTallyError } from '../../../pipeline/errors.js';
import { adaptiveTimeout } from './adaptive-timeout.js';
import { abortableSleep, retryBackoffMs, type RetryPolicy } from './backoff.js';
import type { PreparedDocument } from './batch.js';
import { requestFailure } from './bulk-outcome.js';
import { bulkPass, type BulkTuning } from './bulk-writer.js';

export interface RetryingBulkWriterOptions extends RetryPolicy, Pick<BulkTuning, 'concurrency' | 'flushBytes'> {
  client: Client;
  /** the client's settings: an ES_AUTH names its URL and where its credentials came from */
  elasticsearch?: ElasticsearchConfig;
  /** how long a bulk request may take at first (elasticsearch.requestTimeoutMs); it grows while requests time out */
  requestTimeoutMs: number;
}

/** Items to write, and how each becomes a document. */
export interface BulkJob<T> {
  items: T[];
  /** the documents of the items still pending, made again for every pass; a throw sends them all again */
  documents(pending: T[]): PreparedDocument[] | Promise<PreparedDocument[]>;
  itemOf(document: PreparedDocument): T;
  /** what the items are, in the log and in the error on stop: "documents", "archive documents" */
  noun: string;
  /** told as it happens: documents Elasticsearch took, documents about to be sent again */
  counts?: { written(count: number): void; retried(count: number): void };
}

export interface RetryingBulkWriter {
  /**
   * Resolves once every item is written or refused for good (its dead letter is the caller's); throws
   * ES_RETRIABLE when stopped first, and ES_AUTH when Elasticsearch refuses the credentials (401) or
   * the request (403): credentials rotated while the writer runs are not fixed by sending again.
   */
  write<T>(job: BulkJob<T>): Promise<{ item: T; reason: RejectionReason }[]>;
}

/**
 * Bulk writes that go on until Elasticsearch took every document or refused it for good. Only what
 * it did not take (429, 5xx, cluster-state errors, a failed or timed-out request) is sent again,
 * after a doubling backoff, for as long as it takes. The request timeout is one per writer: it
 * doubles after a timed-out pass (up to 16×) and comes back after a pass that completes.
 */
const unnamed = { url: 'the configured URL' } as ElasticsearchConfig;

export function retryingBulkWriter(options: RetryingBulkWriterOptions): RetryingBulkWriter {
  const { client, log, signal } = options;
  const requestTimeout = adaptiveTimeout(options.requestTimeoutMs);
  return {
    async write<T>(job: BulkJob<T>) {
      const refused: { item: T; reason: RejectionReason }[] = [];
      let pending = job.items;
      for (let attempt = 1; pending.length > 0; attempt += 1) {
        let retry: T[];
        let why: string;
        let level: 'warn' | 'error' = 'warn';
        try {
          const documents = await job.documents(pending);
          const pass = await bulkPass(client, documents, { concurrency: options.concurrency, flushBytes: options.flushBytes, requestTimeoutMs: requestTimeout.current() });
          requestTimeout.after(pass);
          job.counts?.written(pass.written);
          for (const { document, reason } of pass.refused) refused.push({ item: job.itemOf(document), reason });
          retry = pass.retry.map((document) => job.itemOf(document));
          why = pass.retryReason ?? 'no reason given';
          if (pass.requestError) {
            const refusal = esAuthError(options.elasticsearch ?? unnamed, pass.requestError, `writing ${retry.length} ${job.noun}`);
            if (refusal) throw refusal;
            if (!pass.requestError.retriable) level = 'error';
          }
        } catch (error) {
          if (isTallyError(error, 'ES_AUTH')) throw error;
          // making the documents failed (bulkPass itself reports request failures)
          const failure = isTallyError(error) ? error : requestFailure(error);
          retry = pending;
          why = failure.message;
          if (!failure.retriable) level = 'error';
        }
        if (retry.length === 0) break;
        if (signal.aborted) throw new TallyError('ES_RETRIABLE', `stopping with ${retry.length} ${job.noun} not acknowledged by Elasticsearch; their records stay uncommitted`);
        const backoffMs = retryBackoffMs(attempt, options.maxBackoffMs);
        log[level]({ attempt, documents: retry.length, of: job.items.length, backoffMs }, `Elasticsearch did not take ${retry.length} ${job.noun} (${why}); sending them again, nothing committed meanwhile`);
        job.counts?.retried(retry.length);
        pending = retry;
        await abortableSleep(backoffMs, signal);
      }
      return refused;
    },
  };
}
