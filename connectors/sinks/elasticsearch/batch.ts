import type { IncomingMessage } from '../../../pipeline/bus/types.js';
import type { DeadLetterInput } from '../../../pipeline/dlq.js';
import { TallyError, isTallyError, messageOf } from '../../../pipeline/errors.js';
import { serialiseDocument } from './avro-document.js';
import { documentFor, writeTarget, type BulkOperation, type IndexLayout } from './layout.js';
import { deadLetterKind, type IndexedTopic } from './topics.js';

/** One record ready for the bulk request, with the message it came from. */
export interface PreparedDocument {
  message: IncomingMessage;
  spec: IndexedTopic;
  id: string;
  index: string;
  operation: BulkOperation;
  /** for versioned topics: the snapshot's time in ms, Elasticsearch's external version */
  version?: number;
  /** the document serialised once: its size decides the bulk request size */
  json: string;
}

export interface PreparedBatch {
  documents: PreparedDocument[];
  /** records that cannot become documents (undecodable, no id): straight to the dead-letter topic */
  rejected: DeadLetterInput[];
  /** tombstones and messages whose id a later message of the same batch writes again */
  skipped: number;
}

export const sinkStage = 'sink-elasticsearch';

/**
 * Decode a consumer batch into documents. Within a batch the last message of an id wins (the same
 * key always lands on the same partition, so this is Kafka order): each id is sent once, so no two
 * concurrent bulk requests can race over which version of a record Elasticsearch keeps.
 */
export function prepareBatch(messages: IncomingMessage[], specFor: (physicalTopic: string) => IndexedTopic | undefined, layout: IndexLayout, prefix: string): PreparedBatch {
  const byTarget = new Map<string, PreparedDocument>();
  const rejected: DeadLetterInput[] = [];
  let skipped = 0;
  for (const message of messages) {
    const spec = specFor(message.topic);
    if (!spec || message.value === null) {
      skipped += 1;
      continue;
    }
    const key = message.key?.toString('utf8') || undefined;
    try {
      const { document, id: recordId, timeMs } = spec.toDocument({ value: message.value, headers: message.headers });
      const id = recordId ?? key;
      if (!id) throw new TallyError('RECORD_INVALID', 'a domain record without a key or id cannot be indexed idempotently');
      const target = writeTarget(layout, prefix, spec.indexBase, timeMs);
      const slot = `${target.index}\u0000${id}`;
      const version = spec.versioned && timeMs !== undefined ? Math.max(0, Math.floor(timeMs)) : undefined;
      const earlier = byTarget.get(slot);
      if (earlier) {
        skipped += 1;
        // a versioned record keeps its latest snapshot even when an older one comes later
        if (version !== undefined && earlier.version !== undefined && earlier.version > version) continue;
        byTarget.delete(slot);
      }
      byTarget.set(slot, { message, spec, id, ...target, ...(version !== undefined ? { version } : {}), json: serialiseDocument(documentFor(layout, document, timeMs)) });
    } catch (error) {
      rejected.push({
        kind: deadLetterKind(spec, message.headers),
        stage: sinkStage,
        original: message.value,
        source: { topic: message.topic, partition: message.partition, offset: message.offset, key: key ?? null },
        reasons: [{ code: isTallyError(error) ? error.code : 'RECORD_UNPARSABLE', ...(isTallyError(error) && typeof error.details?.rule === 'string' ? { rule: error.details.rule } : {}), message: messageOf(error) }],
      });
    }
  }
  return { documents: [...byTarget.values()], rejected, skipped };
}
