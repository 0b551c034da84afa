/** One record rendered for its message: ASCII text, and how many of its values had to be transliterated. */
export interface Rendered {
  text: string;
  transliterated: number;
}

/** How a message body wraps its records: head + records joined by separator + tail. All ASCII, so characters are bytes. */
export interface MessageFraming {
  head: string;
  separator: string;
  tail: string;
}

/** The body size of a message holding records of these sizes. */
export function messageBytes(framing: MessageFraming, recordCount: number, recordBytes: number): number {
  return framing.head.length + recordBytes + Math.max(0, recordCount - 1) * framing.separator.length + framing.tail.length;
}

export function assemble(framing: MessageFraming, records: readonly string[]): string {
  return `${framing.head}${records.join(framing.separator)}${framing.tail}`;
}
