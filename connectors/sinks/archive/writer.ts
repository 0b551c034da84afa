import type { Client } from '@elastic/elasticsearch';
import type { IncomingMessage, Producer } from '../../../pipeline/bus/types.js';
import type { DeadLetterInput, RejectionReason } from '../../../pipeline/dlq.js';
import { TallyError, isTallyError, messageOf } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';
import { serialiseDocument } from '../elasticsearch/avro-document.js';
import type { PreparedDocument } from '../elasticsearch/batch.js';
import { sendDeadLetters } from '../elasticsearch/dead-letter-sender.js';
import { monthlyIndex } from '../elasticsearch/index-name.js';
import type { RetryingBulkWriter } from '../elasticsearch/retrying-bulk-writer.js';
import { archiveSection, mergeArchiveSections, storedSection, type ArchiveSection } from './document.js';
import { archiveIndex, archiveIndexBase } from './setup.js';
import type { Association } from './window.js';

export const archiveStage = 'archive';

/** An event to archive: the message holding its value and why it is archived. */
export interface ArchiveItem {
  message: IncomingMessage & { value: Buffer };
  id: string;
  timeMs: number;
  associations: readonly Association[];
  truncated: boolean;
}

export interface ArchiveWriterOptions {
  client: Client;
  producer: Producer;
  log: Logger;
  topic: (name: string) => string;
  indexPrefix: string;
  maxTriggersPerEvent: number;
  writer: RetryingBulkWriter;
  /** for the dead letters: Kafka is retried as Elasticsearch is */
  maxBackoffMs: number;
  signal: AbortSignal;
}

export interface WriterCounters {
  written: number;
  deadLettered: number;
  retried: number;
}

interface Pending {
  item: ArchiveItem;
  index: string;
  document: Record<string, unknown>;
  fresh: ArchiveSection;
}

/**
 * Write archive documents until each one is in Elasticsearch or in dlq.oslo-log. Each write
 * merges what the stored document already says (mget, realtime), so a trigger once archived stays.
 * Retriable failures back off and try again, for as long as it takes; while stopping, it gives up
 * with ES_RETRIABLE and the events stay uncommitted.
 */
export async function writeArchive(items: readonly ArchiveItem[], options: ArchiveWriterOptions, counters: WriterCounters): Promise<void> {
  if (items.length === 0) return;
  const archivedAt = new Date();
  const letters: DeadLetterInput[] = [];
  const bySlot = new Map<string, Pending>();
  for (const item of items) {
    try {
      const index = monthlyIndex(options.indexPrefix, archiveIndexBase, item.timeMs);
      const fresh = archiveSection(item.associations, item.truncated, archivedAt);
      // the same event twice in one write (delivered again after its first copy left the window): one document
      const same = bySlot.get(slotOf(index, item.id));
      if (same) same.fresh = mergeArchiveSections(same.fresh, fresh, options.maxTriggersPerEvent);
      else bySlot.set(slotOf(index, item.id), { item, index, document: archiveIndex.toDocument(item.message).document, fresh });
    } catch (error) {
      letters.push(deadLetter(item, { code: isTallyError(error) ? error.code : 'RECORD_UNPARSABLE', message: messageOf(error) }));
    }
  }

  const refused = await options.writer.write({
    items: [...bySlot.values()],
    documents: async (pending) => {
      const stored = await storedSections(options.client, pending);
      return pending.map((p): PreparedDocument => {
        const archive = mergeArchiveSections(stored.get(slotOf(p.index, p.item.id)), p.fresh, options.maxTriggersPerEvent);
        return { message: p.item.message, spec: archiveIndex, id: p.item.id, index: p.index, operation: 'index', json: serialiseDocument({ ...p.document, archive }) };
      });
    },
    itemOf: (document) => bySlot.get(slotOf(document.index, document.id)) as Pending,
    noun: 'archive documents',
    counts: { written: (n) => void (counters.written += n), retried: (n) => void (counters.retried += n) },
  });
  for (const { item, reason } of refused) letters.push(deadLetter(item.item, reason));
  if (letters.length === 0) return;
  await sendDeadLetters(options.producer, options.topic, letters, 'archive documents Elasticsearch refused', options);
  counters.deadLettered += letters.length;
}

const slotOf = (index: string, id: string): string => `${index}\u0000${id}`;

interface MgetDoc {
  _index: string;
  _id: string;
  found?: boolean;
  _source?: unknown;
  error?: { type?: string; reason?: string };
}

/** The archive objects already stored for these documents; a missing index means none. */
async function storedSections(client: Client, pending: readonly Pending[]): Promise<Map<string, ArchiveSection>> {
  const response = await client.mget({ docs: pending.map((p) => ({ _index: p.index, _id: p.item.id })), _source_includes: ['archive'] });
  const stored = new Map<string, ArchiveSection>();
  for (const doc of response.docs as MgetDoc[]) {
    if (doc.error) {
      if (doc.error.type === 'index_not_found_exception') continue;
      throw new TallyError('ES_RETRIABLE', `reading archive document ${doc._index}/${doc._id}: ${doc.error.type ?? 'error'}: ${doc.error.reason ?? ''}`);
    }
    const section = doc.found ? storedSection(doc._source) : undefined;
    if (section) stored.set(slotOf(doc._index, doc._id), section);
  }
  return stored;
}

function deadLetter(item: ArchiveItem, reason: RejectionReason): DeadLetterInput {
  const { message } = item;
  return { kind: archiveIndex.kind, stage: archiveStage, original: message.value, source: { topic: message.topic, partition: message.partition, offset: message.offset, key: item.id }, reasons: [reason] };
}
