import avro from 'avsc';
import type { DomainCodec } from '../avro.js';
import { TallyError, messageOf } from '../errors.js';
import type { RegistryClient } from './client.js';
import { decodeWire, encodeWire } from './wire-format.js';

/** The subject of a topic's values (Confluent's TopicNameStrategy): every kind writing a topic writes its one schema. */
export const valueSubject = (physicalTopic: string): string => `${physicalTopic}-value`;

const schemaText = (codec: DomainCodec): string => JSON.stringify(codec.type.schema());

/**
 * Writes domain records in the Confluent wire format: each topic's schema registered (or found)
 * under `<topic>-value` once, its id cached.
 */
export class RegistryWriter {
  private readonly ids = new Map<string, number>();

  constructor(private readonly client: RegistryClient) {}

  /** Register every topic's schema before the first record (a transform does this when it starts). */
  async prepare(topics: { physical: string; codec: DomainCodec }[]): Promise<Map<string, number>> {
    for (const { physical, codec } of topics) {
      if (!this.ids.has(physical)) this.ids.set(physical, await this.client.register(valueSubject(physical), schemaText(codec)));
    }
    return new Map(this.ids);
  }

  encode(physicalTopic: string, codec: DomainCodec, value: Record<string, unknown>): Buffer {
    const id = this.ids.get(physicalTopic);
    if (id === undefined) throw new Error(`no schema id for ${physicalTopic}: RegistryWriter.prepare was not called for it`);
    return encodeWire(id, codec.encode(value));
  }
}

/**
 * Reads the Confluent wire format into the reader's schema (the .avsc this build carries) with
 * Avro schema resolution, so records written with an older or newer compatible schema are read.
 * Writer schemas are fetched by id once; `prepare` fetches a batch's unknown ids, then `decode` is synchronous.
 */
export class RegistryReader {
  private readonly writers = new Map<number, avro.Type>();
  /** ids the registry cannot give (unknown, or not Avro): their values go to the dead-letter topic with this reason */
  private readonly refused = new Map<number, string>();
  /** per writer id, per reader fingerprint: the resolver, or null where the writer's schema is the reader's (read directly) */
  private readonly resolvers = new Map<number, Map<string, avro.Resolver | null>>();

  constructor(private readonly client: RegistryClient) {}

  /** Fetch unknown writer schemas; throws only what retrying may fix (REGISTRY_UNREACHABLE, REGISTRY_AUTH, REGISTRY_TLS). */
  async prepare(values: Iterable<Buffer | null>): Promise<void> {
    for (const value of values) {
      if (!value || value.length < 5 || value[0] !== 0) continue;
      const id = value.readUInt32BE(1);
      if (this.writers.has(id) || this.refused.has(id)) continue;
      let schema: string;
      try {
        schema = await this.client.schemaById(id);
      } catch (error) {
        if (error instanceof TallyError && (error.code === 'REGISTRY_NOT_FOUND' || error.code === 'REGISTRY_SCHEMA_INVALID')) {
          this.refused.set(id, error.message);
          continue;
        }
        throw error;
      }
      try {
        this.writers.set(id, avro.Type.forSchema(JSON.parse(schema) as avro.Schema));
      } catch (error) {
        this.refused.set(id, `schema id ${id} from the schema registry ${this.client.url} is not an Avro schema this reader can parse: ${messageOf(error)}`);
      }
    }
  }

  /** The record in the reader's schema; RECORD_UNPARSABLE naming `origin` when the value is not framed, its id unknown, or its body does not resolve. */
  decode(value: Buffer, reader: DomainCodec, origin: string): Record<string, unknown> {
    const { schemaId, body } = decodeWire(value, origin);
    const writer = this.writers.get(schemaId);
    if (!writer) {
      const why = this.refused.get(schemaId) ?? `it was not fetched from the schema registry ${this.client.url} (RegistryReader.prepare)`;
      throw new TallyError('RECORD_UNPARSABLE', `${origin}: no writer schema for schema id ${schemaId}: ${why}`, { details: { rule: 'schema-id', schemaId } });
    }
    let byReader = this.resolvers.get(schemaId);
    if (!byReader) this.resolvers.set(schemaId, (byReader = new Map()));
    try {
      let resolver = byReader.get(reader.fingerprint);
      if (resolver === undefined) {
        resolver = writer.fingerprint('sha256').toString('hex') === reader.fingerprint ? null : reader.type.createResolver(writer);
        byReader.set(reader.fingerprint, resolver);
      }
      return (resolver ? reader.type.fromBuffer(body, resolver) : reader.type.fromBuffer(body)) as Record<string, unknown>;
    } catch (error) {
      throw new TallyError('RECORD_UNPARSABLE', `${origin}: a ${writer.name ?? 'record'} written with schema id ${schemaId} cannot be read as ${reader.schemaName}: ${messageOf(error)}`, { cause: error, details: { rule: 'avro-resolution', schemaId } });
    }
  }
}
