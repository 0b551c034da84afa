import { domainCodec } from '../avro.js';
import { encodeDomainValue, fingerprintHeader, writesFingerprint } from '../registry/domain-values.js';
import type { IncomingMessage, OutgoingRecord } from '../bus/types.js';
import { deadLetterRecord, type RejectionReason } from '../dlq.js';
import { describeOrigin, readEnvelope, type RawEnvelope } from '../envelope.js';
import { isTallyError, messageOf } from '../errors.js';
import { writersOf } from '../normalise/index.js';
import type { Normaliser } from '../normalise/types.js';

/** What one raw message became: Avro records for the domain topics and dead letters for what was rejected. */
export interface MessageOutputs {
  records: OutgoingRecord[];
  deadLetters: OutgoingRecord[];
}

const sourceOf = (message: IncomingMessage) => ({ topic: message.topic, partition: message.partition, offset: message.offset, key: message.key?.toString('utf8') ?? null });

const outputHeaders = new Map<string, Map<string, Readonly<Record<string, string>>>>();

/**
 * The headers of a domain record: for bare Avro (no schema registry) the schema fingerprint (the
 * sinks check it; the topic names the schema) and, on a topic several kinds write, `tally-kind`,
 * which picks the dead-letter topic of a record a sink refuses. One shared object per topic, kind
 * and framing: no allocation per record.
 */
export function recordHeaders(topic: string, kind: string, fingerprint: string | undefined): Readonly<Record<string, string>> {
  const slot = `${topic}\u0000${fingerprint ?? ''}`;
  let byKind = outputHeaders.get(slot);
  if (!byKind) outputHeaders.set(slot, (byKind = new Map()));
  let headers = byKind.get(kind);
  if (!headers) {
    const made: Record<string, string> = fingerprint === undefined ? {} : { [fingerprintHeader]: fingerprint };
    if (writersOf(topic).length > 1) made['tally-kind'] = kind;
    headers = Object.freeze(made);
    byKind.set(kind, headers);
  }
  return headers;
}

/** The raw message as an envelope, or the dead letter of bytes that are not UTF-8. */
export function readRawMessage(message: IncomingMessage, kind: string, topic: (name: string) => string): { envelope: RawEnvelope } | { deadLetter: OutgoingRecord } {
  try {
    return { envelope: readEnvelope(message.value ?? Buffer.alloc(0)) };
  } catch (error) {
    const code = isTallyError(error) ? error.code : 'RECORD_UNPARSABLE';
    const reasons = [{ code, rule: 'utf-8', message: `${messageOf(error)} (Kafka ${message.topic}/${message.partition} offset ${message.offset})` }];
    return { deadLetter: deadLetterRecord(topic, { kind, stage: 'transform', original: message.value ?? Buffer.alloc(0), source: sourceOf(message), reasons }) };
  }
}

/**
 * One envelope through its kind's normaliser, the Avro codecs and the dead-letter rules. Pure: no
 * I/O, so `tally transform`, `tally convert` and the tests run the same code. Never throws for
 * content. `message` is where the envelope was read (the first line, for joined lines).
 */
export function normaliseEnvelope(envelope: RawEnvelope, message: IncomingMessage, kind: string, normaliser: Normaliser, topic: (name: string) => string, original: Buffer = message.value ?? Buffer.alloc(0)): MessageOutputs {
  // where it came from, in words: only a rejection needs it
  const origin = (): string => describeOrigin(envelope);
  const reject = (reasons: RejectionReason[], part?: string): OutgoingRecord =>
    deadLetterRecord(topic, { kind, stage: 'transform', original: part === undefined ? original : Buffer.from(part, 'utf8'), source: { ...sourceOf(message), origin: origin() }, reasons });
  let outcome: ReturnType<Normaliser['normalise']>;
  try {
    outcome = normaliser.normalise(envelope);
  } catch (error) {
    return { records: [], deadLetters: [reject([{ code: 'NORMALISER_FAILED', rule: 'normaliser', message: `${messageOf(error)} (${origin()})` }])] };
  }
  const records: OutgoingRecord[] = [];
  const deadLetters = outcome.rejections.length ? outcome.rejections.map((rejection) => reject(rejection.reasons, rejection.original)) : [];
  for (const record of outcome.records) {
    const codec = domainCodec(record.topic);
    const physical = topic(record.topic);
    try {
      records.push({
        topic: physical,
        key: record.key ?? record.id,
        value: encodeDomainValue(physical, codec, record.value),
        headers: recordHeaders(record.topic, kind, writesFingerprint() ? codec.fingerprint : undefined) as Record<string, string>,
        ...(message.timestamp ? { timestamp: message.timestamp } : {}),
      });
    } catch (error) {
      const code = isTallyError(error) ? error.code : 'RECORD_UNRENDERABLE';
      deadLetters.push(reject([{ code, rule: 'avro', message: `${messageOf(error)} (${origin()})` }]));
    }
  }
  return { records, deadLetters };
}

/** One raw message, read and normalised: `readRawMessage` then `normaliseEnvelope`. */
export function transformMessage(message: IncomingMessage, kind: string, normaliser: Normaliser, topic: (name: string) => string): MessageOutputs {
  const read = readRawMessage(message, kind, topic);
  if ('deadLetter' in read) return { records: [], deadLetters: [read.deadLetter] };
  return normaliseEnvelope(read.envelope, message, kind, normaliser, topic);
}
