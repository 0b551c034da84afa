import { domainCodec, type DomainCodec } from '../avro.js';
import { TallyError } from '../errors.js';
import type { RegistryClient } from './client.js';
import { RegistryReader, RegistryWriter } from './serde.js';
import { wireMagic } from './wire-format.js';

/**
 * How this process frames domain values. With a schema registry (the default): the Confluent wire
 * format, each topic's schema registered under `<topic>-value`. Without one: bare Avro with the
 * `tally-schema-fingerprint` header, as Tally wrote before the registry. Readers read both: a value
 * with the fingerprint header is bare Avro (records written before an upgrade stay readable for the
 * topic's retention), one starting with the magic byte 0 is the wire format.
 */
let writer: RegistryWriter | undefined;
let reader: RegistryReader | undefined;
let registryUrl: string | undefined;

export const fingerprintHeader = 'tally-schema-fingerprint';

/** Use this registry for the domain values of this process (undefined: bare Avro, no registry). */
export function useRegistry(client: RegistryClient | undefined): void {
  writer = client ? new RegistryWriter(client) : undefined;
  reader = client ? new RegistryReader(client) : undefined;
  registryUrl = client?.url;
}

/** Register (or find) the schema of each domain topic a writer will write; the subjects and their ids. */
export async function registerDomainSchemas(topics: { physical: string; logical: string }[]): Promise<Map<string, number>> {
  if (!writer) return new Map();
  return writer.prepare(topics.map(({ physical, logical }) => ({ physical, codec: domainCodec(logical) })));
}

/** The value as it goes to Kafka: wire format when a registry is in use, else bare Avro. */
export function encodeDomainValue(physicalTopic: string, codec: DomainCodec, value: Record<string, unknown>): Buffer {
  return writer ? writer.encode(physicalTopic, codec, value) : codec.encode(value);
}

/** Bare Avro values carry their schema's fingerprint in a header; wire-format values do not need it. */
export const writesFingerprint = (): boolean => writer === undefined;

type DomainMessage = { value: Buffer | null; headers: Record<string, Buffer | undefined> };

const isBare = (message: DomainMessage): boolean => message.headers[fingerprintHeader] !== undefined;

/** Fetch the writer schemas a batch needs (once per id): decodeDomainValue is then synchronous. */
export async function prepareDomainValues(messages: Iterable<DomainMessage>): Promise<void> {
  if (!reader) return;
  const framed: Buffer[] = [];
  for (const message of messages) if (message.value && !isBare(message)) framed.push(message.value);
  await reader.prepare(framed);
}

/**
 * The record in this build's schema of the topic; RECORD_UNPARSABLE naming `origin` and the rule
 * broken. A value with the fingerprint header is bare Avro (its fingerprint must be this build's);
 * one starting with the magic byte 0 is the wire format; any other is bare Avro without the header
 * (a Tally schema starts with its non-empty string id, so bare Avro never starts with 0).
 */
export function decodeDomainValue(logicalTopic: string, message: DomainMessage & { value: Buffer }, origin: string): Record<string, unknown> {
  const codec = domainCodec(logicalTopic);
  const written = message.headers[fingerprintHeader]?.toString('utf8');
  if (written !== undefined && written !== codec.fingerprint) {
    throw new TallyError('RECORD_UNPARSABLE', `${origin}: value was written with schema fingerprint ${written}; this reader has ${codec.schemaName} with fingerprint ${codec.fingerprint}`, { details: { rule: 'schema-fingerprint' } });
  }
  if (written !== undefined || message.value[0] !== wireMagic) return codec.decode(message.value);
  if (!reader) {
    throw new TallyError('RECORD_UNPARSABLE', `${origin}: a ${codec.schemaName} value in the Confluent wire format (magic byte 0) cannot be read without a schema registry: set registry.url to the registry it was written with`, { details: { rule: 'wire-format' } });
  }
  return reader.decode(message.value, codec, origin);
}

/** The registry this process reads and writes through, for messages. */
export const registryInUseUrl = (): string | undefined => registryUrl;
