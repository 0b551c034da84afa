import type { IncomingMessage } from '../../../pipeline/bus/types.js';
import { domainCodec, type DomainCodec } from '../../../pipeline/avro.js';
import { decodeDomainValue } from '../../../pipeline/registry/domain-values.js';

/** One domain record as Elasticsearch will store it. */
export interface IndexableDocument {
  /** times as ISO 8601; null values are left out when it is serialised (see serialiseDocument) */
  document: Record<string, unknown>;
  /** the record's own id (the Kafka key should be the same) */
  id: string | undefined;
  /** milliseconds since the epoch of the time field, for the monthly index */
  timeMs: number | undefined;
}

/**
 * Decode a domain value into the sink's own schema: the Confluent wire format by its registry id,
 * with Avro schema resolution (the batch's ids fetched beforehand by prepareDomainValues), or bare
 * Avro whose fingerprint header must be the sink's own (decoding another could misread fields
 * silently, so it is refused to the dead-letter topic, to be replayed once the sink knows it).
 */
export function avroDocument(topic: string, timeField: string, message: Pick<IncomingMessage, 'headers'> & { value: Buffer }): IndexableDocument {
  const codec = domainCodec(topic);
  const record = decodeDomainValue(topic, message, `${topic} value`);
  const time = record[timeField];
  const id = record.id;
  return {
    document: withIsoTimes(codec, record),
    id: typeof id === 'string' && id.length > 0 ? id : undefined,
    timeMs: typeof time === 'number' ? time : undefined,
  };
}

/** toJsonDocument's result without its JSON round trip: the decoded record is ours, so its times are rewritten in place. */
function withIsoTimes(codec: DomainCodec, record: Record<string, unknown>): Record<string, unknown> {
  for (const fieldPath of codec.timestampPaths) {
    let node: Record<string, unknown> | undefined = record;
    for (let i = 0; i < fieldPath.length - 1 && node; i += 1) node = node[fieldPath[i] as string] as Record<string, unknown> | undefined;
    const last = fieldPath[fieldPath.length - 1] as string;
    const value = node?.[last];
    if (node && typeof value === 'number') node[last] = new Date(value).toISOString();
  }
  return record;
}

const withoutNulls = (_key: string, value: unknown): unknown => (value === null ? undefined : value);

/** The document as the bulk body carries it: one JSON.stringify, nulls left out (as toJsonDocument does). */
export function serialiseDocument(document: Record<string, unknown>): string {
  return JSON.stringify(document, withoutNulls);
}
