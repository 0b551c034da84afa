import { TallyError } from '../../../pipeline/errors.js';
import type { ByteQueue } from './byte-queue.js';

/**
 * Lumberjack frames, one at a time, from a byte queue. Every frame starts with a version byte
 * ('1' or '2') and a type byte; integers are unsigned 32-bit big-endian.
 *
 *   W  window       u32 count                                  (v1, v2)
 *   J  JSON event   u32 seq, u32 length, JSON                  (v2)
 *   D  key/value    u32 seq, u32 pairs, pairs × (u32 len, key, u32 len, value)   (v1)
 *   C  compressed   u32 length, zlib stream of whole frames    (v1, v2)
 *   A  ack          u32 seq                                    (server → client)
 *
 * Every length is checked against its limit as soon as its header is read, so a frame that claims
 * 4 GB is refused before anything is allocated for it.
 */
export const VERSION_1 = 0x31;
export const VERSION_2 = 0x32;
export const TYPE_WINDOW = 0x57; // W
export const TYPE_JSON = 0x4a; // J
export const TYPE_DATA = 0x44; // D
export const TYPE_COMPRESSED = 0x43; // C
export const TYPE_ACK = 0x41; // A

export type ProtocolVersion = 1 | 2;

export interface LumberjackLimits {
  /** events one window may announce (go-lumber's server default: 10000) */
  maxWindowSize: number;
  /** bytes of one event frame's payload (J) or of all keys and values of one D frame */
  maxPayloadBytes: number;
  /** bytes of one compressed frame as received */
  maxCompressedBytes: number;
  /** bytes one compressed frame may inflate to (zlib-bomb guard) */
  maxDecompressedBytes: number;
  /** payload bytes of all events of one window together */
  maxWindowBytes: number;
}

export const defaultLimits: LumberjackLimits = {
  maxWindowSize: 10_000,
  maxPayloadBytes: 16 * 1024 * 1024,
  maxCompressedBytes: 64 * 1024 * 1024,
  maxDecompressedBytes: 64 * 1024 * 1024,
  maxWindowBytes: 64 * 1024 * 1024,
};

export type Frame =
  | { type: 'window'; version: ProtocolVersion; size: number }
  | { type: 'event'; version: ProtocolVersion; seq: number; payload: Buffer; encoding: 'json' | 'kv' }
  | { type: 'compressed'; version: ProtocolVersion; payload: Buffer };

export function protocolError(message: string, details?: Record<string, unknown>): TallyError {
  return new TallyError('PROTOCOL_ERROR', `lumberjack: ${message}`, { retriable: false, ...(details ? { details } : {}) });
}

const hex = (byte: number): string => `0x${byte.toString(16).padStart(2, '0')}`;

type State =
  | { at: 'header' }
  | { at: 'window'; version: ProtocolVersion }
  | { at: 'json-header' }
  | { at: 'json'; seq: number; length: number }
  | { at: 'compressed-header'; version: ProtocolVersion }
  | { at: 'compressed'; version: ProtocolVersion; length: number }
  | { at: 'kv-header' }
  | { at: 'kv-length'; kv: KvFrame; key: boolean }
  | { at: 'kv-bytes'; kv: KvFrame; key: boolean; length: number };

interface KvFrame {
  seq: number;
  pairs: number;
  done: number;
  bytes: number;
  key: string;
  fields: Map<string, string>;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads one frame at a time; keeps its place when a frame is split across chunks. */
export class FrameReader {
  private state: State = { at: 'header' };

  constructor(private readonly limits: LumberjackLimits) {}

  /** true between frames */
  get atBoundary(): boolean {
    return this.state.at === 'header';
  }

  /** The next whole frame, or undefined until more bytes arrive. Throws PROTOCOL_ERROR. */
  read(input: ByteQueue): Frame | undefined {
    for (;;) {
      const state = this.state;
      switch (state.at) {
        case 'header': {
          if (input.length < 2) return undefined;
          const header = input.take(2);
          const versionByte = header[0] as number;
          const type = header[1] as number;
          const version = versionByte === VERSION_2 ? 2 : versionByte === VERSION_1 ? 1 : undefined;
          if (version === undefined) throw protocolError(`unsupported protocol version byte ${hex(versionByte)} (expected '1' or '2')`, { versionByte });
          if (type === TYPE_WINDOW) this.state = { at: 'window', version };
          else if (type === TYPE_COMPRESSED) this.state = { at: 'compressed-header', version };
          else if (type === TYPE_JSON && version === 2) this.state = { at: 'json-header' };
          else if (type === TYPE_DATA && version === 1) this.state = { at: 'kv-header' };
          else throw protocolError(`unknown frame type ${hex(type)} for protocol version ${version}`, { type });
          break;
        }
        case 'window': {
          if (input.length < 4) return undefined;
          const size = input.take(4).readUInt32BE(0);
          if (size > this.limits.maxWindowSize) throw protocolError(`window of ${size} events is over the limit of ${this.limits.maxWindowSize}`, { size });
          this.state = { at: 'header' };
          return { type: 'window', version: state.version, size };
        }
        case 'json-header': {
          if (input.length < 8) return undefined;
          const header = input.take(8);
          const seq = header.readUInt32BE(0);
          const length = header.readUInt32BE(4);
          if (length === 0) throw protocolError(`JSON frame ${seq} has length 0`, { seq });
          if (length > this.limits.maxPayloadBytes) throw protocolError(`JSON frame ${seq} of ${length} bytes is over the limit of ${this.limits.maxPayloadBytes}`, { seq, length });
          this.state = { at: 'json', seq, length };
          break;
        }
        case 'json': {
          if (input.length < state.length) return undefined;
          this.state = { at: 'header' };
          return { type: 'event', version: 2, seq: state.seq, payload: input.take(state.length), encoding: 'json' };
        }
        case 'compressed-header': {
          if (input.length < 4) return undefined;
          const length = input.take(4).readUInt32BE(0);
          if (length === 0) throw protocolError('compressed frame has length 0');
          if (length > this.limits.maxCompressedBytes) throw protocolError(`compressed frame of ${length} bytes is over the limit of ${this.limits.maxCompressedBytes}`, { length });
          this.state = { at: 'compressed', version: state.version, length };
          break;
        }
        case 'compressed': {
          if (input.length < state.length) return undefined;
          this.state = { at: 'header' };
          return { type: 'compressed', version: state.version, payload: input.take(state.length) };
        }
        case 'kv-header': {
          if (input.length < 8) return undefined;
          const header = input.take(8);
          const seq = header.readUInt32BE(0);
          const pairs = header.readUInt32BE(4);
          // every pair costs at least its two length fields
          if (pairs * 8 > this.limits.maxPayloadBytes) throw protocolError(`data frame ${seq} announces ${pairs} fields, over the payload limit of ${this.limits.maxPayloadBytes} bytes`, { seq, pairs });
          const kv: KvFrame = { seq, pairs, done: 0, bytes: 0, key: '', fields: new Map() };
          if (pairs === 0) {
            this.state = { at: 'header' };
            return kvEvent(kv);
          }
          this.state = { at: 'kv-length', kv, key: true };
          break;
        }
        case 'kv-length': {
          if (input.length < 4) return undefined;
          const length = input.take(4).readUInt32BE(0);
          const { kv } = state;
          kv.bytes += length;
          if (kv.bytes > this.limits.maxPayloadBytes) throw protocolError(`data frame ${kv.seq} is over the payload limit of ${this.limits.maxPayloadBytes} bytes`, { seq: kv.seq });
          this.state = { at: 'kv-bytes', kv, key: state.key, length };
          break;
        }
        case 'kv-bytes': {
          if (input.length < state.length) return undefined;
          const { kv } = state;
          const text = decodeText(input.take(state.length), kv.seq);
          if (state.key) {
            kv.key = text;
            this.state = { at: 'kv-length', kv, key: false };
            break;
          }
          kv.fields.set(kv.key, text);
          kv.done += 1;
          if (kv.done < kv.pairs) {
            this.state = { at: 'kv-length', kv, key: true };
            break;
          }
          this.state = { at: 'header' };
          return kvEvent(kv);
        }
      }
    }
  }
}

function decodeText(bytes: Buffer, seq: number): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw protocolError(`data frame ${seq} has a key or value that is not UTF-8`, { seq });
  }
}

/**
 * A v1 key/value event as the JSON object a v2 client would have sent. Like Logstash's beats
 * input, logstash-forwarder's `line` becomes `message` (kept as `line` too).
 */
function kvEvent(kv: KvFrame): Frame {
  const object: Record<string, string> = {};
  for (const [key, value] of kv.fields) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  if (kv.fields.has('line') && !kv.fields.has('message')) object.message = kv.fields.get('line') as string;
  return { type: 'event', version: 1, seq: kv.seq, payload: Buffer.from(JSON.stringify(object)), encoding: 'kv' };
}
