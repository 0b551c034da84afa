import os from 'node:os';
import type { OutgoingRecord } from '../../../pipeline/bus/types.js';
import { deadLetter, deadLetterHeaders, encodeHead } from '../../../pipeline/dlq.js';
import { buildEnvelope, type RawEnvelope } from '../../../pipeline/envelope.js';
import type { ErrorCode } from '../../../pipeline/errors.js';

/** What a line carries into Kafka besides its text. */
export interface LineOrigin {
  /** the path at read time */
  path: string;
  /** the file offset the line starts at (Filebeat's log.offset) */
  offset: number;
  /** the registry id of the byte stream (`<inode>-<device>` when first seen) */
  fileId: string;
  /** the path without its rotation suffix: x.log and x.log.1 are one stream */
  stream: string;
}

export interface RecordContext {
  kind: string;
  topic: string;
  dlqTopic: string;
  tags: string[];
  fields: Record<string, unknown>;
  keyBy: 'stream' | 'line';
  host?: string;
}

const hostName = os.hostname();

/**
 * The Kafka key. `stream`: host + stream path, so one file's lines (and its rotated generations')
 * stay in order on one partition, which a multiline join downstream needs. `line`: host + file id +
 * offset. Either way a line re-sent after a crash has the same key as its first copy.
 */
export function recordKey(context: RecordContext, origin: LineOrigin): string {
  const host = context.host ?? hostName;
  return context.keyBy === 'stream' ? `${host}:${origin.stream}` : `${host}:${origin.fileId}:${origin.offset}`;
}

/** The Filebeat-shaped envelope; `log.file.inode`/`device_id` name the registry identity (Filebeat's native identity, as strings). */
export function lineEnvelope(context: RecordContext, message: string, origin: LineOrigin, flags?: string[], timestamp?: Date): RawEnvelope {
  const envelope = buildEnvelope({ message, inputType: 'filestream', path: origin.path, offset: origin.offset, tags: context.tags, fields: context.fields, ...(timestamp ? { timestamp } : {}) });
  const [inode, device] = origin.fileId.split('-');
  const file = (envelope.log?.file ?? {}) as Record<string, unknown>;
  if (inode !== undefined && device !== undefined) {
    file.inode = inode;
    file.device_id = device;
  }
  if (flags?.length) (envelope.log as Record<string, unknown>).flags = flags;
  return envelope;
}

export function lineRecord(context: RecordContext, message: string, origin: LineOrigin): OutgoingRecord {
  return { topic: context.topic, key: recordKey(context, origin), value: JSON.stringify(lineEnvelope(context, message, origin)) };
}

const sentinelTime = new Date(0);
const sentinelTimeText = JSON.stringify(sentinelTime.toISOString());
const sentinelMessage = '\u0000tally-message\u0000';
const sentinelMessageText = JSON.stringify(sentinelMessage);
const sentinelOffset = 987_654_321_012_345;

/**
 * The hot path: the envelope of every line of one file differs only in time, message and offset,
 * so its JSON is built once (by `lineEnvelope`, so the shapes cannot drift) and filled in per line.
 */
export class LineRecordTemplate {
  private readonly parts: string[];
  private readonly order: ('time' | 'message' | 'offset')[];
  readonly key: string | undefined;

  constructor(
    private readonly context: RecordContext,
    readonly origin: Omit<LineOrigin, 'offset'>,
  ) {
    const json = JSON.stringify(lineEnvelope(context, sentinelMessage, { ...origin, offset: sentinelOffset }, undefined, sentinelTime));
    // each placeholder is found with its key, so a path or field holding the same text cannot be mistaken for it
    const mark = (prefix: string, text: string, what: 'time' | 'message' | 'offset') => {
      const at = json.indexOf(prefix + text);
      return { at: at < 0 ? -1 : at + prefix.length, length: text.length, what };
    };
    const marks = [mark('"@timestamp":', sentinelTimeText, 'time'), mark('"message":', sentinelMessageText, 'message'), mark('"offset":', String(sentinelOffset), 'offset')].sort((a, b) => a.at - b.at);
    if (marks.some((m) => m.at < 0)) throw new Error('envelope template: a placeholder is missing');
    this.parts = [];
    this.order = [];
    let from = 0;
    for (const mark of marks) {
      this.parts.push(json.slice(from, mark.at));
      this.order.push(mark.what);
      from = mark.at + mark.length;
    }
    this.parts.push(json.slice(from));
    this.key = context.keyBy === 'stream' ? recordKey(context, { ...origin, offset: 0 }) : undefined;
  }

  static timestamp(date = new Date()): string {
    return JSON.stringify(date.toISOString());
  }

  /**
   * `time` is a JSON string from `LineRecordTemplate.timestamp()` (one per read, not per line). The
   * value is UTF-8 bytes, encoded once here: both clients take them as they are, where a string is
   * measured and encoded again (Buffer.byteLength for batch sizes, then written) per message.
   */
  record(message: string, offset: number, time: string): OutgoingRecord & { value: Buffer } {
    const parts = this.parts;
    let value = parts[0] as string;
    for (let i = 0; i < this.order.length; i += 1) {
      const what = this.order[i];
      value += (what === 'message' ? JSON.stringify(message) : what === 'time' ? time : String(offset)) + (parts[i + 1] as string);
    }
    return { topic: this.context.topic, key: this.key ?? recordKey(this.context, { ...this.origin, offset }), value: Buffer.from(value) };
  }
}

/**
 * The dead letter of a line the shipper cannot send as it is (pipeline/dlq.ts's shape, stage `ship`):
 * the line's first bytes as base64 with its full length and `truncated`, no `source` (the line never
 * was in Kafka), and the Filebeat envelope with the first bytes as message (U+FFFD for bad UTF-8) and
 * `log.flags`. The record has the line's key.
 */
export function deadLetterRecord(context: RecordContext, origin: LineOrigin, reason: { code: ErrorCode; message: string }, head: Buffer, length: number): OutgoingRecord {
  const flags = [reason.code === 'RECORD_TOO_LARGE' ? 'truncated' : 'invalid_utf8'];
  const letter = deadLetter({ kind: context.kind, stage: 'ship', reasons: [reason], original: encodeHead(head, length), envelope: lineEnvelope(context, head.toString('utf8'), origin, flags) });
  return { topic: context.dlqTopic, key: recordKey(context, origin), value: JSON.stringify(letter), headers: deadLetterHeaders('ship', [reason]) };
}
