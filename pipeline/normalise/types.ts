import type { RejectionReason } from '../dlq.js';
import type { RawEnvelope } from '../envelope.js';

/** One normalised record on its way to a domain topic, in the shape of its Avro schema. */
export interface NormalisedRecord {
  /** logical domain topic (without prefix): accounting.usage, cloud.vm, audit.events, ops.logs */
  topic: string;
  /** deterministic record id from the business key: the ES _id, and the Kafka key unless `key` is given */
  id: string;
  /** Kafka key when the partitioning key differs from the id (ops.logs: the request id) */
  key?: string;
  /** a plain object valid for schemas/avro/<topic>.avsc */
  value: Record<string, unknown>;
}

/** Part (or all) of an input that was rejected, with every reason. */
export interface Rejection {
  reasons: RejectionReason[];
  /** the rejected part's own bytes when only part of the input was rejected (one record of an APEL message); absent: the whole input */
  original?: string;
}

export interface Normalised {
  records: NormalisedRecord[];
  rejections: Rejection[];
}

/**
 * One kind's normaliser: the same code serves `tally transform` and `tally convert`. It never
 * throws for content: everything it cannot accept comes back as a rejection with its reasons.
 */
export interface Normaliser {
  kind: string;
  /** the logical domain topics it writes */
  topics: readonly string[];
  /** the envelope's message is the input; its coordinates say where it came from */
  normalise(envelope: RawEnvelope): Normalised;
}
