import type { Client } from '@elastic/elasticsearch';
import type { Bus, IncomingMessage, Producer } from '../../../pipeline/bus/types.js';
import type { ElasticsearchConfig } from '../../../pipeline/config/types.js';
import type { DeadLetterInput } from '../../../pipeline/dlq.js';
import { isTallyError, type TallyError } from '../../../pipeline/errors.js';
import { prepareDomainValues } from '../../../pipeline/registry/domain-values.js';
import type { Logger } from '../../../pipeline/log.js';
import { startConsumerStage, type RunningStage } from '../../../pipeline/runtime/consumer-stage.js';
import { prepareBatch, sinkStage, type PreparedDocument } from './batch.js';
import { sendDeadLetters } from './dead-letter-sender.js';
import { defaultLayout, type IndexLayout } from './layout.js';
import { retryingBulkWriter } from './retrying-bulk-writer.js';
import { deadLetterKind, type IndexedTopic } from './topics.js';

export interface ElasticsearchSinkOptions {
  bus: Bus;
  client: Client;
  log: Logger;
  groupId: string;
  indexPrefix: string;
  topics: readonly IndexedTopic[];
  layout?: IndexLayout;
  concurrency?: number;
  flushBytes?: number;
  /** the longest wait between two attempts at documents Elasticsearch could not take */
  maxBackoffMs?: number;
  /** records per consumer batch, prepared and sent as one bulk pass; default 5000 */
  maxBatchMessages?: number;
  /** consumer batches being written at once (the next one is prepared while earlier ones are in Elasticsearch); default 2 */
  batchesInFlight?: number;
  /** how long a bulk request may take at first (elasticsearch.requestTimeoutMs); it grows while requests time out */
  requestTimeoutMs?: number;
  /** the client's settings, named in the ES_AUTH that stops the sink */
  elasticsearch?: ElasticsearchConfig;
}

/** Counts of what the sink did; every record that did not become a document is counted. */
export interface SinkStats {
  batches: number;
  indexed: number;
  deadLettered: number;
  /** tombstones and records superseded by a later record of the same id in the same batch */
  skipped: number;
  /** documents sent again after a retriable failure */
  retried: number;
}

export interface RunningElasticsearchSink extends RunningStage {
  producer: Producer;
  stats: SinkStats;
  /** settles with the ES_AUTH that stopped the sink's writes (credentials refused after start-up); the caller stops the stage */
  failed: Promise<TallyError>;
}

/**
 * Index domain topics with the record id as _id (a replay overwrites). A consumer batch is done,
 * and so may be committed, only when every record in it is acknowledged by Elasticsearch or is in
 * its dead-letter topic. Documents Elasticsearch cannot take now (429, 5xx, unreachable, timeouts)
 * are sent again with backoff, only those, for as long as it takes; nothing is committed meanwhile.
 */
export async function startElasticsearchSink(options: ElasticsearchSinkOptions): Promise<RunningElasticsearchSink> {
  const { bus, client, log } = options;
  const layout = options.layout ?? defaultLayout;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const byTopic = new Map(options.topics.map((t) => [bus.topic(t.topic), t]));
  const stats: SinkStats = { batches: 0, indexed: 0, deadLettered: 0, skipped: 0, retried: 0 };
  const stopping = new AbortController();
  let fail: (error: TallyError) => void = () => undefined;
  const failed = new Promise<TallyError>((resolve) => (fail = resolve));
  const producer = await bus.producer();
  const retry = { log, maxBackoffMs, signal: stopping.signal };
  const writer = retryingBulkWriter({ ...retry, client, ...(options.elasticsearch ? { elasticsearch: options.elasticsearch } : {}), concurrency: options.concurrency ?? 2, flushBytes: options.flushBytes ?? 5_000_000, requestTimeoutMs: options.requestTimeoutMs ?? 30_000 });
  const counts = { written: (n: number) => void (stats.indexed += n), retried: (n: number) => void (stats.retried += n) };

  const deadLetter = (document: PreparedDocument, reason: DeadLetterInput['reasons'][number]): DeadLetterInput => ({
    kind: deadLetterKind(document.spec, document.message.headers),
    stage: sinkStage,
    original: document.message.value ?? Buffer.alloc(0),
    source: { topic: document.message.topic, partition: document.message.partition, offset: document.message.offset, key: document.id },
    reasons: [reason],
  });

  const writeAll = async (documents: PreparedDocument[]): Promise<DeadLetterInput[]> => {
    const refused = await writer.write({ items: documents, documents: (pending) => pending, itemOf: (document) => document, noun: 'documents', counts });
    return refused.map(({ item, reason }) => deadLetter(item, reason));
  };

  /**
   * Batches in Elasticsearch, oldest first. A batch is done (its offsets committable) only once its
   * documents and dead letters are durable; the consumer commits per partition only below the first
   * message not done, so a later batch finishing first commits nothing of its own early.
   */
  const writing: { done: Promise<void>; slots: Set<string> }[] = [];
  const batchesInFlight = Math.max(1, options.batchesInFlight ?? 2);
  // the consumer exists once startConsumerStage returns; a batch can finish writing before that
  let stageStarted: (consumer: RunningStage['consumer']) => void = () => undefined;
  const consumerOf = new Promise<RunningStage['consumer']>((resolve) => (stageStarted = resolve));

  const handle = async (messages: IncomingMessage[]): Promise<ReadonlySet<IncomingMessage>> => {
    // the writer schemas of wire-format values, once per registry id (an unreachable registry fails the batch, which the stage retries)
    await prepareDomainValues(messages);
    const batch = prepareBatch(messages, (topic) => byTopic.get(topic), layout, options.indexPrefix);
    const slots = new Set(batch.documents.map((d) => `${d.index}\u0000${d.id}`));
    // an id an earlier batch is still writing waits for it: two writes of one _id never race
    for (const earlier of [...writing]) {
      for (const slot of slots) {
        if (earlier.slots.has(slot)) {
          await earlier.done;
          break;
        }
      }
    }
    while (writing.length >= batchesInFlight) await writing[0]?.done;
    const work = (async () => {
      const letters = [...batch.rejected, ...(await writeAll(batch.documents))];
      if (letters.length) await sendDeadLetters(producer, bus.topic, letters, 'records Elasticsearch cannot index', retry);
      stats.batches += 1;
      stats.skipped += batch.skipped;
      stats.deadLettered += letters.length;
      const consumer = await consumerOf;
      for (const message of messages) consumer.done(message);
    })();
    const entry = {
      done: work.catch((error: unknown) => {
        if (!isTallyError(error, 'ES_AUTH')) return log.warn({ err: error }, 'a batch was not written before stopping; it stays uncommitted and is delivered again');
        // no batch is written from now on: the stage stops, and what was not written stays uncommitted
        log.error({ err: error, code: error.code }, error.message);
        stopping.abort();
        fail(error);
      }),
      slots,
    };
    writing.push(entry);
    void entry.done.then(() => {
      const at = writing.indexOf(entry);
      if (at >= 0) writing.splice(at, 1);
    });
    return new Set(messages);
  };

  const stage = await startConsumerStage({ bus, log, groupId: options.groupId, topics: [...byTopic.keys()], handle, maxBackoffMs, maxBatchMessages: options.maxBatchMessages ?? 5000 });
  stageStarted(stage.consumer);
  const settled = () => Promise.all(writing.map((w) => w.done));
  return {
    ...stage,
    producer,
    stats,
    failed,
    async stop() {
      stopping.abort();
      await settled();
      await stage.stop();
      await settled();
      await producer.close();
    },
  };
}
