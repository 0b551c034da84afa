import { hash } from 'node:crypto';
import type { RawEnvelope } from '../../envelope.js';

/**
 * Deterministic record ids: hex SHA-256, first 32 characters (128 bits). Lengths prefix every
 * variable part, so no two different inputs hash the same bytes. The ids are stored (the
 * Elasticsearch _id, the APEL key): the hashed text of each kind of id must never change.
 */

/** hex SHA-256 of the text, first 32 characters (one-shot: no Hash object per record) */
export function shortSha256(text: string): string {
  return hash('sha256', text, 'hex').slice(0, 32);
}

type KeyPart = string | number | null | undefined;

/** `|<length>:<text>` for each part, `|-` for an absent one */
function lengthPrefixed(parts: readonly KeyPart[]): string {
  let text = '';
  for (const part of parts) {
    if (part === null || part === undefined) text += '|-';
    else {
      const value = String(part);
      text += `|${value.length}:${value}`;
    }
  }
  return text;
}

/**
 * The id of a line from where it was read, the accounting rule:
 *   file coordinates known (a log.offset and a file identity): "file", host, file identity, offset, text
 *   otherwise:                                                 "message", text
 * The file identity is `device_id:inode` when the envelope has both (it survives a rotation's
 * rename) and the path otherwise; the text is trimmed. A replayed line keeps its id; the same text
 * elsewhere in a file gets another.
 */
export function lineRecordId(envelope: RawEnvelope, text: string): string {
  const offset = envelope.log?.offset;
  const file = Number.isSafeInteger(offset) ? fileIdentity(envelope) : null;
  if (file === null) return shortSha256(`message|${text.trim()}`);
  const host = typeof envelope.host?.name === 'string' ? envelope.host.name : '';
  return shortSha256(`file${lengthPrefixed([host, file])}|${offset as number}|${text.trim()}`);
}

/**
 * The id from a business key the input carries itself (a notification's message_id): the same
 * event by any path has the same id. Hashed: the scope length-prefixed, then the parts.
 */
export function businessRecordId(scope: string, ...parts: string[]): string {
  return shortSha256(`${scope.length}:${scope}${lengthPrefixed(parts)}`);
}

/**
 * The id of a cloud record from its business key (site, service, record, month, …). Hashed: the
 * topic as it is, then the parts (an absent one written `-`).
 */
export function businessKeyId(topic: string, parts: readonly KeyPart[]): string {
  return shortSha256(`${topic}${lengthPrefixed(parts)}`);
}

function fileIdentity(envelope: RawEnvelope): string | null {
  const file = envelope.log?.file as Record<string, unknown> | undefined;
  const device = file?.device_id;
  const inode = file?.inode;
  const given = (v: unknown) => (typeof v === 'string' && v !== '') || typeof v === 'number';
  if (given(device) && given(inode)) return `${String(device)}:${String(inode)}`;
  return typeof file?.path === 'string' ? file.path : null;
}
