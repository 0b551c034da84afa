import { createHash } from 'node:crypto';

/**
 * A record id from a business key: hex SHA-256 of the topic and the key's parts, first 32
 * characters (128 bits), as the accounting ids are. Every part is length-prefixed (an absent one
 * is written `-`), so no two different keys hash the same bytes.
 */
export function businessKeyId(topic: string, parts: readonly (string | number | null | undefined)[]): string {
  const hash = createHash('sha256');
  hash.update(topic);
  for (const part of parts) {
    if (part === null || part === undefined) hash.update('|-');
    else {
      const text = String(part);
      hash.update(`|${text.length}:${text}`);
    }
  }
  return hash.digest('hex').slice(0, 32);
}
