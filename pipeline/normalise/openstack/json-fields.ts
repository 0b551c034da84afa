/** Reading parsed JSON that a schema typed only loosely. */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** the object under a key, or undefined */
export function objectAt(value: unknown, key: string): JsonObject | undefined {
  if (!isJsonObject(value) || !Object.hasOwn(value, key)) return undefined;
  const found = value[key];
  return isJsonObject(found) ? found : undefined;
}

/** a non-empty string under a key (`-` and `None` count as empty), or null */
export function textAt(value: unknown, key: string): string | null {
  if (!isJsonObject(value) || !Object.hasOwn(value, key)) return null;
  const found = value[key];
  if (typeof found === 'number' && Number.isFinite(found)) return String(found);
  return typeof found === 'string' && found !== '' && found !== '-' && found !== 'None' ? found : null;
}

/** the strings of an array under a key */
export function textsAt(value: unknown, key: string): string[] {
  if (!isJsonObject(value) || !Object.hasOwn(value, key)) return [];
  const found = value[key];
  return Array.isArray(found) ? found.filter((item): item is string => typeof item === 'string' && item !== '') : [];
}

/** the first present one of several keys */
export function firstTextAt(value: unknown, ...keys: string[]): string | null {
  for (const key of keys) {
    const found = textAt(value, key);
    if (found !== null) return found;
  }
  return null;
}
