import type { OutgoingRecord } from './bus/types.js';
import type { RawEnvelope } from './envelope.js';

/** One reason a record was rejected: a stable code, the rule broken, where in the record, and words a person can act on. */
export interface RejectionReason {
  code: string;
  rule?: string;
  path?: string;
  message: string;
}

/** Where a rejected input came from: a Kafka coordinate and/or the input's origin in words. */
export interface DeadLetterSource {
  topic?: string;
  partition?: number;
  offset?: string;
  key?: string | null;
  origin?: string;
}

/** The rejected bytes: as text when they are UTF-8, else base64. */
export interface DeadLetterOriginal {
  encoding: 'utf8' | 'base64';
  data: string;
  /** the length of the whole original, also when only its first bytes are kept */
  bytes: number;
  /** only the first bytes are kept: the letter cannot be replayed */
  truncated?: boolean;
}

/** The value written to dlq.<kind> by every stage: everything needed to understand the rejection and replay the original bytes. */
export interface DeadLetter {
  '@timestamp': string;
  kind: string;
  /** the stage that rejected it: ship, beats, apel-queue, transform, sink-elasticsearch, sink-apel, archive */
  stage: string;
  reasons: RejectionReason[];
  /** absent in the shipper's letters: the line never was in Kafka, and its envelope says where it was read */
  source?: DeadLetterSource;
  original: DeadLetterOriginal;
  /** the shipper's letters: the Filebeat envelope the line would have had, its first bytes as message */
  envelope?: RawEnvelope;
}

export interface DeadLetterInput {
  kind: string;
  stage: string;
  /** the whole original, or one already kept as its first bytes (`encodeHead`) */
  original: Buffer | DeadLetterOriginal;
  source?: DeadLetterSource;
  reasons: RejectionReason[];
  envelope?: RawEnvelope;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeOriginal(bytes: Buffer): DeadLetterOriginal {
  try {
    return { encoding: 'utf8', data: strictUtf8.decode(bytes), bytes: bytes.length };
  } catch {
    return { encoding: 'base64', data: bytes.toString('base64'), bytes: bytes.length };
  }
}

/** The first bytes of an original `length` bytes long, as base64: a cut may split a character. */
export function encodeHead(head: Buffer, length: number): DeadLetterOriginal {
  return { encoding: 'base64', data: head.toString('base64'), bytes: length, truncated: head.length < length };
}

/** The original as it is when it has at most `maxBytes`, else its first `maxBytes` marked `truncated` (a stage that cuts must say so). */
export function originalUpTo(bytes: Buffer, maxBytes: number): Buffer | DeadLetterOriginal {
  return bytes.length > maxBytes ? encodeHead(bytes.subarray(0, maxBytes), bytes.length) : bytes;
}

export function decodeOriginal(original: DeadLetterOriginal): Buffer {
  return original.encoding === 'utf8' ? Buffer.from(original.data, 'utf8') : Buffer.from(original.data, 'base64');
}

export function deadLetter(input: DeadLetterInput): DeadLetter {
  return {
    '@timestamp': new Date().toISOString(),
    kind: input.kind,
    stage: input.stage,
    reasons: input.reasons,
    ...(input.source ? { source: input.source } : {}),
    original: Buffer.isBuffer(input.original) ? encodeOriginal(input.original) : input.original,
    ...(input.envelope ? { envelope: input.envelope } : {}),
  };
}

/**
 * The Kafka headers of every dead letter: the stage that rejected it and its first reason's code
 * (`tally-reason`; the shipper wrote `tally-error` before, which nothing reads: `tally dlq` reads the value).
 */
export function deadLetterHeaders(stage: string, reasons: RejectionReason[]): Record<string, string> {
  return { 'tally-stage': stage, 'tally-reason': reasons[0]?.code ?? 'unknown' };
}

/** The record of a dead letter in dlq.<kind>, keyed by its Kafka coordinate when it has one. */
export function deadLetterRecord(topic: (name: string) => string, input: DeadLetterInput): OutgoingRecord {
  const source = input.source;
  const key = source?.topic !== undefined ? `${source.topic}/${source.partition ?? ''}/${source.offset ?? ''}` : null;
  return {
    topic: topic(`dlq.${input.kind}`),
    key,
    value: JSON.stringify(deadLetter(input)),
    headers: deadLetterHeaders(input.stage, input.reasons),
  };
}
