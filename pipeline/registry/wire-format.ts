import { TallyError } from '../errors.js';

/**
 * The Confluent wire format of a Kafka value: magic byte 0, the schema's registry id as a 4-byte
 * big-endian integer, then the Avro binary body. What Kafka Connect, Flink, ksqlDB, confluent-kafka
 * and every Confluent-compatible deserializer read.
 */
export const wireMagic = 0;
export const wireHeaderBytes = 5;

export function encodeWire(schemaId: number, body: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(wireHeaderBytes + body.length);
  framed[0] = wireMagic;
  framed.writeUInt32BE(schemaId, 1);
  body.copy(framed, wireHeaderBytes);
  return framed;
}

/** The schema id and the Avro body of a framed value; RECORD_UNPARSABLE naming `origin` when it is not framed. */
export function decodeWire(value: Buffer, origin: string): { schemaId: number; body: Buffer } {
  if (value.length < wireHeaderBytes) {
    throw new TallyError('RECORD_UNPARSABLE', `${origin}: ${value.length} byte(s) cannot hold the Confluent wire format (magic byte 0, a 4-byte schema id, then the Avro body)`, { details: { rule: 'wire-format', bytes: value.length } });
  }
  if (value[0] !== wireMagic) {
    throw new TallyError('RECORD_UNPARSABLE', `${origin}: the first byte is ${value[0]}, not the Confluent wire format's magic byte 0 (was it written without a schema registry?)`, { details: { rule: 'wire-format', magic: value[0] } });
  }
  return { schemaId: value.readUInt32BE(1), body: value.subarray(wireHeaderBytes) };
}
