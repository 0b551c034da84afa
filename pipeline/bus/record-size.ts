import type { OutgoingRecord } from './types.js';

/** Record-batch overhead per record (attributes, varints, deltas) beyond its key, value and headers. */
const recordOverhead = 24;

const sizeOf = (data: string | Buffer | null | undefined): number => (data === null || data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.length);

export function recordBytes(record: OutgoingRecord): number {
  let bytes = recordOverhead + sizeOf(record.key) + sizeOf(record.value);
  if (record.headers) for (const name in record.headers) bytes += 2 + name.length + sizeOf(record.headers[name]);
  return bytes;
}
