import { inflateSync } from 'node:zlib';
import { ByteQueue } from './byte-queue.js';
import { defaultLimits, FrameReader, protocolError, TYPE_ACK, VERSION_1, VERSION_2, type Frame, type LumberjackLimits, type ProtocolVersion } from './frames.js';

/**
 * The lumberjack server side without I/O: bytes in, whole windows out, acknowledgement frames
 * back. A window is complete when it holds as many events as its window frame announced; they may
 * come as any mix of event frames and compressed frames (zlib streams of whole frames), split
 * across chunks anywhere.
 */
export { defaultLimits, type LumberjackLimits, type ProtocolVersion } from './frames.js';
export { encodeWindow, type EncodeWindowOptions } from './encode.js';

export interface LumberjackEvent {
  seq: number;
  /** the JSON object as the client sent it (J), or built from a v1 key/value frame (D) */
  payload: Buffer;
}

export interface DecodedWindow {
  version: ProtocolVersion;
  /** the event count the window frame announced; 0 for an empty window */
  size: number;
  events: LumberjackEvent[];
  /** the sequence number to acknowledge: the highest one in the window (0 for an empty one) */
  lastSeq: number;
  /** payload bytes of all events */
  bytes: number;
}

/** compressed frames inside compressed frames: Filebeat never nests, go-lumber and Logstash allow it */
const maxNesting = 2;

export class LumberjackDecoder {
  private readonly input = new ByteQueue();
  private readonly reader: FrameReader;
  private readonly limits: LumberjackLimits;
  private open: DecodedWindow | undefined;
  private readonly ready: DecodedWindow[] = [];
  private failure: Error | undefined;

  constructor(limits: Partial<LumberjackLimits> = {}) {
    this.limits = { ...defaultLimits, ...limits };
    this.reader = new FrameReader(this.limits);
  }

  /** Bytes waiting to be decoded. */
  get buffered(): number {
    return this.input.length;
  }

  /** Bytes held: undecoded input, the window being received, whole windows not yet taken. */
  get heldBytes(): number {
    let bytes = this.input.length + (this.open?.bytes ?? 0);
    for (const window of this.ready) bytes += window.bytes;
    return bytes;
  }

  /** Nothing half-received: no partial frame, no window waiting for more events. */
  get idle(): boolean {
    return this.input.length === 0 && this.reader.atBoundary && this.open === undefined && this.ready.length === 0;
  }

  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    this.input.push(chunk);
  }

  /**
   * The next complete window, or undefined until more bytes arrive. Decodes only as far as it
   * must, so bytes of later windows stay queued (the caller's backpressure). A protocol error
   * (TallyError PROTOCOL_ERROR) is final: every later call throws it again.
   */
  next(): DecodedWindow | undefined {
    if (this.failure) throw this.failure;
    try {
      while (this.ready.length === 0) {
        const frame = this.reader.read(this.input);
        if (!frame) return undefined;
        this.accept(frame, 0);
      }
      return this.ready.shift();
    } catch (error) {
      this.failure = error as Error;
      this.input.clear();
      throw error;
    }
  }

  private accept(frame: Frame, depth: number): void {
    switch (frame.type) {
      case 'window': {
        if (depth > 0) throw protocolError('a window frame inside a compressed frame');
        if (this.open) throw protocolError(`a new window began after ${this.open.events.length} of the ${this.open.size} events announced`, { announced: this.open.size, received: this.open.events.length });
        const window: DecodedWindow = { version: frame.version, size: frame.size, events: [], lastSeq: 0, bytes: 0 };
        if (frame.size === 0) this.ready.push(window);
        else this.open = window;
        return;
      }
      case 'event': {
        const window = this.current(frame, 'a data frame');
        window.bytes += frame.payload.length;
        if (window.bytes > this.limits.maxWindowBytes) throw protocolError(`window of ${window.size} events is over the limit of ${this.limits.maxWindowBytes} payload bytes`, { bytes: window.bytes });
        window.events.push({ seq: frame.seq, payload: frame.payload });
        if (frame.seq > window.lastSeq) window.lastSeq = frame.seq;
        if (window.events.length === window.size) {
          this.ready.push(window);
          this.open = undefined;
        }
        return;
      }
      case 'compressed': {
        this.current(frame, 'a compressed frame');
        if (depth >= maxNesting) throw protocolError(`compressed frames nested more than ${maxNesting} deep`);
        this.inflate(frame.payload, depth + 1);
        return;
      }
    }
  }

  private current(frame: Frame, what: string): DecodedWindow {
    const window = this.open;
    if (!window) throw protocolError(`${what} outside a window (no window frame announced its events)`);
    if (window.version !== frame.version) throw protocolError(`${what} of protocol version ${frame.version} inside a version ${window.version} window`);
    return window;
  }

  private inflate(compressed: Buffer, depth: number): void {
    let inflated: Buffer;
    try {
      // maxOutputLength stops inflating at the limit: a zlib bomb costs at most that much memory
      inflated = inflateSync(compressed, { maxOutputLength: this.limits.maxDecompressedBytes });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw protocolError(`compressed frame inflates to more than the limit of ${this.limits.maxDecompressedBytes} bytes`, { compressedBytes: compressed.length });
      throw protocolError(`compressed frame is not a valid zlib stream: ${(error as Error).message}`, { zlib: code });
    }
    const inner = new ByteQueue();
    inner.push(inflated);
    const reader = new FrameReader(this.limits);
    for (;;) {
      const frame = reader.read(inner);
      if (!frame) break;
      this.accept(frame, depth);
    }
    if (inner.length > 0 || !reader.atBoundary) throw protocolError('compressed frame ends inside a frame (truncated content)');
  }
}

/** The acknowledgement frame: '2' 'A' seq (or '1' 'A' for a protocol-1 window). seq 0 is a keepalive. */
export function encodeAck(seq: number, version: ProtocolVersion = 2): Buffer {
  const frame = Buffer.allocUnsafe(6);
  frame[0] = version === 1 ? VERSION_1 : VERSION_2;
  frame[1] = TYPE_ACK;
  frame.writeUInt32BE(seq >>> 0, 2);
  return frame;
}
