import type { OutgoingRecord } from '../../../pipeline/bus/types.js';
import { deadLetterRecord, originalUpTo } from '../../../pipeline/dlq.js';
import { TallyError, type ErrorCode } from '../../../pipeline/errors.js';
import type { DecodedWindow } from './protocol.js';

/**
 * A Filebeat event arriving over lumberjack already is the raw envelope (Filebeat's event shape),
 * so its JSON is the Kafka value, byte for byte, with `source.address` (the client) added when the
 * event has none. An event that is not a UTF-8 JSON object, or too large for one Kafka record, is a
 * dead letter in dlq.<kind> with its reason: the window is still acknowledged, so a broken event
 * is never resent forever, and never silently dropped.
 */
export interface RecordContext {
  kind: string;
  /** raw.<kind> with the prefix */
  topic: string;
  /** the bus's topic naming (prefix) */
  topicName: (name: string) => string;
  /** ip:port of the client */
  clientAddress: string;
  /** a Kafka value over this goes to the dead-letter topic instead (stay under the broker's message.max.bytes) */
  maxRecordBytes: number;
}

export interface WindowRecords {
  records: OutgoingRecord[];
  /** events that became dead letters */
  rejected: number;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const deadLetterHeadBytes = 64 * 1024;

export function windowRecords(window: DecodedWindow, context: RecordContext): WindowRecords {
  const records: OutgoingRecord[] = [];
  let rejected = 0;
  for (const event of window.events) {
    const origin = `event ${event.seq} of a window of ${window.size} from ${context.clientAddress} over beats`;
    try {
      const value = eventValue(event.payload, context.clientAddress);
      if (value.length > context.maxRecordBytes) throw new TallyError('RECORD_TOO_LARGE', `${origin} is ${value.length} bytes, over the limit of ${context.maxRecordBytes} bytes for one Kafka record`);
      records.push({ topic: context.topic, key: null, value });
    } catch (error) {
      if (!(error instanceof TallyError)) throw error;
      rejected += 1;
      records.push(deadLetter(context, event.payload, origin, error.code, error.message));
    }
  }
  return { records, rejected };
}

function deadLetter(context: RecordContext, payload: Buffer, origin: string, code: ErrorCode, message: string): OutgoingRecord {
  const text = payload.length <= deadLetterHeadBytes ? message : `${message} (original truncated to its first ${deadLetterHeadBytes} of ${payload.length} bytes)`;
  return deadLetterRecord(context.topicName, { kind: context.kind, stage: 'beats', original: originalUpTo(payload, deadLetterHeadBytes), source: { origin }, reasons: [{ code, message: text }] });
}

/** The Kafka value of one event: its own bytes, with `"source":{"address":...}` spliced in when absent. */
export function eventValue(payload: Buffer, clientAddress: string): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(payload));
  } catch (error) {
    throw new TallyError('RECORD_UNPARSABLE', `the event is not UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TallyError('RECORD_UNPARSABLE', `the event is JSON but not an object (got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed})`);
  const event = parsed as Record<string, unknown>;
  if (!Object.hasOwn(event, 'source')) return splice(payload, Object.keys(event).length === 0, clientAddress);
  const source = event.source;
  if (typeof source !== 'object' || source === null || Array.isArray(source) || Object.hasOwn(source, 'address')) return payload;
  // rare: a `source` object without an address; re-encoding keeps the keys, only number spellings may change
  try {
    return Buffer.from(JSON.stringify({ ...event, source: { ...(source as Record<string, unknown>), address: clientAddress } }));
  } catch {
    return payload; // nested too deep to re-encode: keep the event as sent
  }
}

function splice(payload: Buffer, empty: boolean, clientAddress: string): Buffer {
  let brace = 0;
  while (payload[brace] !== 0x7b) brace += 1; // the object's '{' after any JSON whitespace
  const field = Buffer.from(`"source":{"address":${JSON.stringify(clientAddress)}}${empty ? '' : ','}`);
  return Buffer.concat([payload.subarray(0, brace + 1), field, payload.subarray(brace + 1)]);
}

/** Consecutive slices of at most `maxBytes` of values each (at least one record per slice). */
export function sliceByBytes(records: OutgoingRecord[], maxBytes: number): OutgoingRecord[][] {
  const slices: OutgoingRecord[][] = [];
  let slice: OutgoingRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = record.value === null ? 0 : Buffer.byteLength(record.value);
    if (slice.length > 0 && bytes + size > maxBytes) {
      slices.push(slice);
      slice = [];
      bytes = 0;
    }
    slice.push(record);
    bytes += size;
  }
  if (slice.length > 0) slices.push(slice);
  return slices;
}
