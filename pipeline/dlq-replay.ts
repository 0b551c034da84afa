import { domainCodec } from './avro.js';
import { wireMagic } from './registry/wire-format.js';
import type { IncomingMessage, OutgoingRecord } from './bus/types.js';
import { decodeOriginal, type DeadLetter } from './dlq.js';
import { rawTopic } from './topics.js';

/** A dead letter as read back from dlq.<kind>, with where it sits there. */
export interface StoredDeadLetter {
  partition: number;
  offset: string;
  letter: DeadLetter;
}

export function readDeadLetter(message: IncomingMessage): StoredDeadLetter | undefined {
  if (!message.value) return undefined;
  try {
    const letter = JSON.parse(message.value.toString('utf8')) as DeadLetter;
    if (typeof letter !== 'object' || letter === null || !letter.original || !Array.isArray(letter.reasons)) return undefined;
    return { partition: message.partition, offset: message.offset, letter };
  } catch {
    return undefined;
  }
}

export type ReplayPlan = { record: OutgoingRecord } | { skip: string };

/**
 * Where a dead letter goes back to once its cause is fixed: a rejected raw event to the raw topic
 * it came from (the transform reads it again), a document Elasticsearch refused to the domain topic
 * it came from (the sink reads it again), a source's reject to raw.<kind>. The deterministic record
 * ids make a replay of something that meanwhile landed an overwrite, never a double.
 */
export function planReplay(stored: StoredDeadLetter, topic: (name: string) => string): ReplayPlan {
  const { letter } = stored;
  if (letter.original.truncated) return { skip: `the original was kept truncated (${letter.original.bytes} bytes, over the limit): fix the source and send it again there` };
  const value = decodeOriginal(letter.original);
  const source = letter.source ?? {};
  const key = source.key ?? null;
  if (letter.stage.startsWith('sink-') && source.topic) {
    const logical = source.topic.slice(topic('').length);
    let headers: Record<string, string> = {};
    // a wire-format value (magic byte 0) names its schema by id; bare Avro of a Tally schema starts with its non-empty id, never 0
    if (value[0] !== wireMagic) {
      try {
        headers = domainCodec(logical).headers;
      } catch {
        /* a topic without a local schema: the sink decides */
      }
    }
    return { record: { topic: source.topic, key, value, headers: { ...headers, 'tally-replayed-from': `dlq.${letter.kind}/${stored.partition}/${stored.offset}` } } };
  }
  const target = letter.stage === 'transform' && source.topic ? source.topic : topic(rawTopic(letter.kind));
  return { record: { topic: target, key, value, headers: { 'tally-replayed-from': `dlq.${letter.kind}/${stored.partition}/${stored.offset}` } } };
}
