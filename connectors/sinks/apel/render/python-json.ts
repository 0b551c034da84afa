import { jsonString } from './ascii.js';

/** A value of a JSON object written the way Python's json.dumps writes it. */
export type PythonJsonValue = { string: string } | { literal: string };

/** `{"Key": value, ...}` with json.dumps's default separators (", " and ": "), keys in the order given, nulls left out. */
export function pythonJsonObject(entries: readonly (readonly [key: string, value: PythonJsonValue | null])[]): string {
  const parts: string[] = [];
  for (const [key, value] of entries) {
    if (value === null) continue;
    parts.push(`${jsonString(key)}: ${'string' in value ? jsonString(value.string) : value.literal}`);
  }
  return `{${parts.join(', ')}}`;
}

export const pyString = (value: string | null): PythonJsonValue | null => (value === null ? null : { string: value });
export const pyLiteral = (value: string | null): PythonJsonValue | null => (value === null ? null : { literal: value });
