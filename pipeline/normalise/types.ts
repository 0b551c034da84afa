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

/** Where a raw line was read from Kafka. */
export interface LinePosition {
  topic: string;
  partition: number;
  offset: string | number;
}

/** A line that completes an event of joined lines (a traceback joined to its record). */
export interface JoinedLines {
  envelope: RawEnvelope;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

/**
 * Joins the lines of one stream (the Kafka key) that belong to one event, with bounded memory.
 * A held line's offset must not be committed until its event is produced: commit on a partition
 * only below `lowestHeldOffset`.
 */
export interface LineJoiner {
  push(streamKey: string, envelope: RawEnvelope, at: LinePosition, now?: number): JoinedLines[];
  flushOlderThan(ageMs: number, now?: number): JoinedLines[];
  flushAll(): JoinedLines[];
  dropPartition(topic: string, partition: number): number;
  lowestHeldOffset(topic: string, partition: number): number | undefined;
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
  /** for kinds whose events span several lines when the shipper sends one line per event */
  createJoiner?(): LineJoiner;
}
