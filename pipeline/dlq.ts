import type { OutgoingRecord } from './bus/types.js';

/** One reason a record was rejected: a stable code, the rule broken, where in the record, and words a person can act on. */
export interface RejectionReason {
  code: string;
  rule?: string;
  path?: string;
  message: string;
}

export interface DeadLetterInput {
  kind: string;
  /** the stage that rejected it: transform, sink-elasticsearch, sink-apel, ship, beats, http */
  stage: string;
  original: Buffer;
  /** where the original came from: a Kafka coordinate and/or the envelope's origin in words */
  source: { topic?: string; partition?: number; offset?: string; key?: string | null; origin?: string };
  reasons: RejectionReason[];
}

/** The value written to dlq.<kind>: everything needed to understand the rejection and replay the original bytes. */
export interface DeadLetter {
  '@timestamp': string;
  kind: string;
  stage: string;
  reasons: RejectionReason[];
  source: DeadLetterInput['source'];
  original: { encoding: 'utf8' | 'base64'; data: string; bytes: number };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeOriginal(bytes: Buffer): DeadLetter['original'] {
  try {
    return { encoding: 'utf8', data: strictUtf8.decode(bytes), bytes: bytes.length };
  } catch {
    return { encoding: 'base64', data: bytes.toString('base64'), bytes: bytes.length };
  }
}

export function decodeOriginal(original: DeadLetter['original']): Buffer {
  return original.encoding === 'utf8' ? Buffer.from(original.data, 'utf8') : Buffer.from(original.data, 'base64');
}

export function deadLetterRecord(topic: (name: string) => string, input: DeadLetterInput): OutgoingRecord {
  const letter: DeadLetter = {
    '@timestamp': new Date().toISOString(),
    kind: input.kind,
    stage: input.stage,
    reasons: input.reasons,
    source: input.source,
    original: encodeOriginal(input.original),
  };
  const key = input.source.topic !== undefined ? `${input.source.topic}/${input.source.partition ?? ''}/${input.source.offset ?? ''}` : null;
  return {
    topic: topic(`dlq.${input.kind}`),
    key,
    value: JSON.stringify(letter),
    headers: { 'tally-stage': input.stage, 'tally-reason': input.reasons[0]?.code ?? 'unknown' },
  };
}
