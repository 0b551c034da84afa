import { domainCodec } from '../avro.js';
import type { IncomingMessage, OutgoingRecord } from '../bus/types.js';
import { deadLetterRecord, type RejectionReason } from '../dlq.js';
import { describeOrigin, readEnvelope, type RawEnvelope } from '../envelope.js';
import { isTallyError, messageOf } from '../errors.js';
import type { Normaliser } from '../normalise/types.js';

/** What one raw message became: Avro records for the domain topics and dead letters for what was rejected. */
export interface MessageOutputs {
  records: OutgoingRecord[];
  deadLetters: OutgoingRecord[];
}

/**
 * One raw message through its kind's normaliser, the Avro codecs and the dead-letter rules. Pure:
 * no I/O, so `tally transform` and its tests run the same code. Never throws for content.
 */
export function transformMessage(message: IncomingMessage, kind: string, normaliser: Normaliser, topic: (name: string) => string): MessageOutputs {
  const original = message.value ?? Buffer.alloc(0);
  const source = { topic: message.topic, partition: message.partition, offset: message.offset, key: message.key?.toString('utf8') ?? null };
  const reject = (reasons: RejectionReason[], origin: string | undefined, part?: string): OutgoingRecord =>
    deadLetterRecord(topic, { kind, stage: 'transform', original: part === undefined ? original : Buffer.from(part, 'utf8'), source: { ...source, ...(origin ? { origin } : {}) }, reasons });

  let envelope: RawEnvelope;
  try {
    envelope = readEnvelope(original);
  } catch (error) {
    const code = isTallyError(error) ? error.code : 'RECORD_UNPARSABLE';
    return { records: [], deadLetters: [reject([{ code, rule: 'utf-8', message: `${messageOf(error)} (Kafka ${message.topic}/${message.partition} offset ${message.offset})` }], undefined)] };
  }

  const origin = describeOrigin(envelope);
  const outcome = normaliser.normalise(envelope);
  const records: OutgoingRecord[] = [];
  const deadLetters = outcome.rejections.map((rejection) => reject(rejection.reasons, origin, rejection.original));
  const trace = `${message.topic}/${message.partition}/${message.offset}`;
  for (const record of outcome.records) {
    const codec = domainCodec(record.topic);
    try {
      records.push({
        topic: topic(record.topic),
        key: record.key ?? record.id,
        value: codec.encode(record.value),
        headers: { ...codec.headers, 'tally-kind': kind, 'tally-source': trace },
        ...(message.timestamp ? { timestamp: message.timestamp } : {}),
      });
    } catch (error) {
      const code = isTallyError(error) ? error.code : 'RECORD_UNRENDERABLE';
      deadLetters.push(reject([{ code, rule: 'avro', message: `${messageOf(error)} (${origin})` }], origin));
    }
  }
  return { records, deadLetters };
}
