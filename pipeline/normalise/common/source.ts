import type { RawEnvelope } from '../../envelope.js';

/** Where a line was read, in the shape of the `log` record both audit.events and ops.logs carry. */
export interface LogSource {
  file: { path: string | null };
  offset: number | null;
  /** Filebeat's log.flags (multiline, truncated) */
  flags: string[];
}

export function logSourceOf(envelope: RawEnvelope): LogSource {
  const path = envelope.log?.file?.path;
  const offset = envelope.log?.offset;
  const flags = (envelope.log as { flags?: unknown } | undefined)?.flags;
  return {
    file: { path: typeof path === 'string' ? path : null },
    offset: Number.isSafeInteger(offset) ? (offset as number) : null,
    flags: Array.isArray(flags) ? flags.filter((f): f is string => typeof f === 'string') : [],
  };
}

export function envelopeHost(envelope: RawEnvelope): string | null {
  const name = envelope.host?.name;
  return typeof name === 'string' && name !== '' ? name : null;
}

export function envelopeTags(envelope: RawEnvelope): string[] {
  const tags = envelope.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

/** The file name without directories (a Windows path too: ROR managers run on Windows). */
export function baseName(path: string | null): string | null {
  if (path === null) return null;
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return path.slice(cut + 1);
}

/** A value in a reason, short whatever it is: never a whole (possibly huge) structure. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}… (${value.length} characters)` : JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
