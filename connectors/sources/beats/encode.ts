import { deflateSync } from 'node:zlib';
import { TYPE_COMPRESSED, TYPE_JSON, TYPE_WINDOW, VERSION_2 } from './frames.js';

/**
 * The client side of lumberjack v2, as go-lumber's client writes a batch: a window frame, then the
 * events as JSON frames numbered from 1 (sequence numbers restart in every window), either bare or
 * all inside one compressed (zlib) frame. For tests and tools; the server never sends these.
 */
export interface EncodeWindowOptions {
  /** zlib level 1-9 puts the JSON frames in one compressed frame; 0 or absent sends them bare (Filebeat's default is 3) */
  compressionLevel?: number;
  /** sequence number of the first event (default 1) */
  firstSeq?: number;
}

function u32(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(value >>> 0, 0);
  return bytes;
}

export function windowFrame(count: number): Buffer {
  return Buffer.concat([Buffer.from([VERSION_2, TYPE_WINDOW]), u32(count)]);
}

export function jsonFrame(seq: number, payload: Buffer | string): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from([VERSION_2, TYPE_JSON]), u32(seq), u32(bytes.length), bytes]);
}

export function compressedFrame(zlibPayload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([VERSION_2, TYPE_COMPRESSED]), u32(zlibPayload.length), zlibPayload]);
}

/** One window of events: objects are JSON-encoded, strings and buffers are sent as they are. */
export function encodeWindow(events: readonly (Buffer | string | object)[], options: EncodeWindowOptions = {}): Buffer {
  const first = options.firstSeq ?? 1;
  const frames = events.map((event, i) => jsonFrame(first + i, Buffer.isBuffer(event) || typeof event === 'string' ? event : JSON.stringify(event)));
  const level = options.compressionLevel ?? 0;
  const body = level > 0 ? compressedFrame(deflateSync(Buffer.concat(frames), { level })) : Buffer.concat(frames);
  return Buffer.concat([windowFrame(events.length), body]);
}
