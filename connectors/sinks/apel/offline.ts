import { isTallyError, messageOf } from '../../../pipeline/errors.js';
import { ApelBatcher } from './batcher.js';
import { assemble } from './render/framing.js';
import { framingsByType, messageTypeOfTopic, renderRecord, type RenderOptions } from './render/message-types.js';

export interface OfflineRecord {
  /** logical domain topic: cloud.vm, cloud.ip, cloud.accelerator, cloud.storage (cloud.energy is skipped) */
  topic: string;
  /** the record id: a later record with the same id replaces an earlier one in the same message */
  id: string;
  /** the decoded Avro value */
  value: Record<string, unknown>;
}

export interface OfflineMessages {
  /** message bodies (ASCII) in the order to enqueue them */
  messages: { type: string; body: Buffer; records: number }[];
  /** records that cannot be rendered validly, by their position in the input */
  refused: { index: number; code: string; reason: string }[];
  /** records without an APEL message type (cloud.energy, other topics), by their position */
  skipped: number[];
}

/**
 * The sink's rendering and batching without Kafka, for `tally convert --to apel`: the same
 * renderers, limits and latest-snapshot rule; write `messages` with QueueSimpleWriter.add().
 */
export function renderApelMessages(records: readonly OfflineRecord[], limits: { maxRecordsPerMessage: number; maxMessageBytes: number }, options: RenderOptions): OfflineMessages {
  const batcher = new ApelBatcher<number>({ maxRecords: limits.maxRecordsPerMessage, maxBytes: limits.maxMessageBytes }, framingsByType);
  const out: OfflineMessages = { messages: [], refused: [], skipped: [] };
  const sealed = [];
  for (const [index, record] of records.entries()) {
    const type = messageTypeOfTopic(record.topic);
    if (!type) {
      out.skipped.push(index);
      continue;
    }
    try {
      const { text } = renderRecord(type, record.value, options);
      if (!batcher.fits(type.type, text.length)) throw new Error(`the rendered record is ${text.length} bytes: alone it is over maxMessageBytes (${limits.maxMessageBytes})`);
      sealed.push(...batcher.add(type.type, { id: record.id, text, partition: 0, offset: BigInt(index), message: index }, 0));
    } catch (error) {
      out.refused.push({ index, code: isTallyError(error) ? error.code : 'RECORD_UNRENDERABLE', reason: messageOf(error) });
    }
  }
  sealed.push(...batcher.drain());
  for (const batch of sealed) {
    if (batch.texts.length === 0) continue;
    out.messages.push({ type: batch.type, body: Buffer.from(assemble(framingsByType[batch.type] ?? { head: '', separator: '', tail: '' }, batch.texts), 'latin1'), records: batch.texts.length });
  }
  return out;
}
