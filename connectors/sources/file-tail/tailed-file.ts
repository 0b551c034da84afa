import { open, type FileHandle } from 'node:fs/promises';
import { prefixMatches, readPrefix, sha256 } from './fingerprint.js';
import { LineSplitter, type Piece } from './lines.js';
import type { LineRecordTemplate } from './records.js';
import type { Cursor } from './registry.js';

export type StepResult =
  | { kind: 'pieces'; pieces: Piece[]; bytes: number }
  | { kind: 'eof'; deleted: boolean }
  | { kind: 'truncated'; reason: string }
  | { kind: 'gone'; reason: string };

export interface ReadLimits {
  maxLineBytes: number;
  fingerprintBytes: number;
  readChunkBytes: number;
}

/**
 * One file being read (a harvester): its open handle, its registry cursor and the line splitter at
 * the read position. Reads only complete lines' worth of progress into the cursor's `enqueued`;
 * detects truncation (size below the read position, or first bytes no longer the fingerprinted ones).
 */
export class TailedFile {
  handle: FileHandle | undefined;
  private splitter: LineSplitter;
  /** size at the last stat; -1 before the first */
  lastSize = -1;
  lastReadAt = Date.now();
  nextCheckAt = 0;
  /** not matched by the last scan (renamed out of the globs, or deleted) */
  missing = false;
  /** the envelope JSON of this file's lines, built once */
  template: LineRecordTemplate | undefined;
  /** hold reading until the scan with this number completed (after a truncation, so a copy is found and read first) */
  holdUntilScan = 0;

  constructor(
    public cursor: Cursor,
    readonly key: string,
    public stream: string,
    private readonly limits: ReadLimits,
  ) {
    this.splitter = new LineSplitter(cursor.enqueued, limits.maxLineBytes);
  }

  get readPos(): number {
    return this.splitter.offset;
  }

  /** has everything there is now been read? (a fresh look, not the last one) */
  async drained(): Promise<boolean> {
    const st = await this.handle?.stat().catch(() => undefined);
    return !st || st.size <= this.splitter.offset;
  }

  /** Open the cursor's path; false when it is no longer this file. */
  async open(): Promise<boolean> {
    const handle = await open(this.cursor.path, 'r').catch(() => undefined);
    if (!handle) return false;
    const st = await handle.stat();
    if (st.dev !== this.cursor.dev || st.ino !== this.cursor.ino) {
      await handle.close();
      return false;
    }
    this.handle = handle;
    this.restartAt(this.cursor.enqueued);
    this.lastReadAt = Date.now();
    this.nextCheckAt = 0;
    return true;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  /** Start splitting from `offset` (a line start); what was held is dropped. */
  restartAt(offset: number): void {
    this.splitter = new LineSplitter(offset, this.limits.maxLineBytes);
    this.lastSize = -1;
  }

  async step(): Promise<StepResult> {
    const handle = this.handle;
    if (!handle) return { kind: 'gone', reason: 'not open' };
    const st = await handle.stat();
    const pos = this.splitter.offset;
    if (st.size < pos) return { kind: 'truncated', reason: `size ${st.size} is below the read position ${pos}` };
    if (st.size === pos) {
      this.lastSize = st.size;
      return { kind: 'eof', deleted: st.nlink === 0 };
    }
    const length = Math.min(st.size - pos, this.limits.readChunkBytes);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buffer, 0, length, pos);
    if (bytesRead === 0) return { kind: 'eof', deleted: st.nlink === 0 };
    // after the read, check the first bytes are still ours: if the file was truncated and rewritten
    // before (or while) we read, what we read is not the continuation of our lines, and is dropped
    const prefix = await readPrefix(handle, this.limits.fingerprintBytes);
    if (!prefixMatches(prefix, this.cursor)) return { kind: 'truncated', reason: 'its first bytes changed (truncated and rewritten)' };
    if (prefix.length > this.cursor.fingerprintBytes) {
      this.cursor.fingerprint = sha256(prefix);
      this.cursor.fingerprintBytes = prefix.length;
    }
    this.lastSize = st.size;
    this.lastReadAt = Date.now();
    return { kind: 'pieces', pieces: this.splitter.push(buffer.subarray(0, bytesRead)), bytes: bytesRead };
  }
}
