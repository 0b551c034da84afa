import { shortSha256 } from '../common/record-id.js';

/**
 * A record id from a business key: hex SHA-256 of the topic and the key's parts, first 32
 * characters (128 bits), as the accounting ids are. Every part is length-prefixed (an absent one
 * is written `-`), so no two different keys hash the same bytes.
 */
export function businessKeyId(topic: string, parts: readonly (string | number | null | undefined)[]): string {
  let key = topic;
  for (const part of parts) {
    if (part === null || part === undefined) key += '|-';
    else {
      const text = String(part);
      key += `|${text.length}:${text}`;
    }
  }
  return shortSha256(key);
}
