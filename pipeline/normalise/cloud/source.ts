import type { RawEnvelope } from '../../envelope.js';

/** The `source` record of every cloud.* value: where the record came from. */
export interface CloudSource {
  input: string;
  format: string;
  record_number: number | null;
  host: string | null;
  path: string | null;
  offset: number | null;
  client: string | null;
  tags: string[];
}

/** The envelope's coordinates; format and record number are filled in per record. */
export function envelopeSource(envelope: RawEnvelope): Omit<CloudSource, 'format' | 'record_number'> {
  const offset = envelope.log?.offset;
  const tags = envelope.tags;
  return {
    input: stringOrNull(envelope.input?.type) ?? 'raw',
    host: stringOrNull(envelope.host?.name),
    path: stringOrNull(envelope.log?.file?.path),
    offset: Number.isSafeInteger(offset) ? (offset as number) : null,
    client: stringOrNull(envelope.source?.address),
    tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [],
  };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
