import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { TallyError, messageOf } from './errors.js';
import { projectRoot } from './paths.js';

/**
 * The Avro codec of one domain topic, built once from schemas/avro/<topic>.avsc. Values travel as
 * plain Avro binary; the headers name the schema and its fingerprint (SHA-256 of the parsing
 * canonical form) so a consumer can pick the .avsc without a registry.
 */
export interface DomainCodec {
  topic: string;
  /** full name of the record, e.g. tally.accounting.Usage */
  schemaName: string;
  /** hex SHA-256 of the schema's parsing canonical form */
  fingerprint: string;
  type: avro.Type;
  encode(value: Record<string, unknown>): Buffer;
  decode(bytes: Buffer): Record<string, unknown>;
  /** the Kafka headers that go with every value */
  headers: Record<string, string>;
  /** field paths (a.b) whose values are timestamp-millis: the ES sink writes them as ISO 8601 */
  timestampPaths: string[][];
}

export const schemaDir = path.join(projectRoot, 'schemas/avro');
const codecs = new Map<string, DomainCodec>();

export function domainCodec(topic: string): DomainCodec {
  const cached = codecs.get(topic);
  if (cached) return cached;
  const file = path.join(schemaDir, `${topic}.avsc`);
  const schema = JSON.parse(readFileSync(file, 'utf8')) as avro.Schema;
  const type = avro.Type.forSchema(schema);
  const fingerprint = type.fingerprint('sha256').toString('hex');
  const schemaName = type.name ?? topic;
  const codec: DomainCodec = {
    topic,
    schemaName,
    fingerprint,
    type,
    headers: { 'tally-schema': schemaName, 'tally-schema-fingerprint': fingerprint },
    timestampPaths: timestampPaths(schema),
    encode(value) {
      const problems: string[] = [];
      if (!type.isValid(value, { errorHook: (p, v) => problems.push(`${p.join('.') || '(record)'}: ${JSON.stringify(v)?.slice(0, 80)} does not fit the schema`) })) {
        throw new TallyError('RECORD_UNRENDERABLE', `record does not fit Avro schema ${schemaName}: ${problems.join('; ')}`, { details: { problems } });
      }
      return type.toBuffer(value);
    },
    decode(bytes) {
      try {
        return type.fromBuffer(bytes) as Record<string, unknown>;
      } catch (error) {
        throw new TallyError('RECORD_UNPARSABLE', `value is not an Avro ${schemaName} record: ${messageOf(error)}`, { cause: error });
      }
    },
  };
  codecs.set(topic, codec);
  return codec;
}

/** The decoded record as a JSON document: timestamp-millis fields as ISO 8601, nulls left out. */
export function toJsonDocument(codec: DomainCodec, record: Record<string, unknown>): Record<string, unknown> {
  const document = JSON.parse(JSON.stringify(record, (_key, value: unknown) => (value === null ? undefined : value))) as Record<string, unknown>;
  for (const fieldPath of codec.timestampPaths) {
    let node: Record<string, unknown> | undefined = document;
    for (const key of fieldPath.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
    const last = fieldPath[fieldPath.length - 1] as string;
    const value = node?.[last];
    if (node && typeof value === 'number') node[last] = new Date(value).toISOString();
  }
  return document;
}

function timestampPaths(schema: unknown, prefix: string[] = []): string[][] {
  const paths: string[][] = [];
  const record = schema as { type?: unknown; fields?: { name: string; type: unknown }[] };
  for (const field of record.fields ?? []) {
    const branches = Array.isArray(field.type) ? field.type : [field.type];
    for (const branch of branches) {
      const b = branch as { type?: unknown; logicalType?: string; fields?: unknown };
      if (b && typeof b === 'object' && b.logicalType === 'timestamp-millis') paths.push([...prefix, field.name]);
      else if (b && typeof b === 'object' && b.type === 'record') paths.push(...timestampPaths(b, [...prefix, field.name]));
    }
  }
  return paths;
}
