/**
 * Splits a byte stream into lines, pure and without I/O. Offsets are file byte offsets: a line
 * occupies [start, end) where `end` is just past its `\n` (the registry offset after it is acked).
 * The terminator is `\n`; a `\r` before it is dropped too (Filebeat's `auto` line terminator).
 * A partial last line is held until its newline arrives. A line longer than `maxLineBytes` is never
 * buffered whole: its first `headBytes` are kept, the rest is counted and skipped, and it comes out
 * as an `oversize` piece so the caller can report it (and still advance past it).
 */
export type Piece =
  | { kind: 'line'; start: number; end: number; bytes: Buffer }
  | { kind: 'oversize'; start: number; end: number; head: Buffer; length: number };

export class LineSplitter {
  private held: Buffer[] = [];
  private heldLength = 0;
  /** the current line is over the limit: keep `head`, count the rest */
  private discarding = false;
  private head: Buffer = Buffer.alloc(0);
  private lineStart: number;
  private position: number;

  constructor(
    startOffset: number,
    private readonly maxLineBytes: number,
    private readonly headBytes = 1024,
  ) {
    this.lineStart = startOffset;
    this.position = startOffset;
  }

  /** the file offset of the next byte `push` expects */
  get offset(): number {
    return this.position;
  }

  /** where the held partial line starts (= `offset` when nothing is held) */
  get pendingStart(): number {
    return this.lineStart;
  }

  get pendingBytes(): number {
    return this.position - this.lineStart;
  }

  push(chunk: Buffer): Piece[] {
    const pieces: Piece[] = [];
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(10, from);
      const stop = nl === -1 ? chunk.length : nl;
      this.hold(chunk.subarray(from, stop));
      if (nl === -1) {
        this.position += chunk.length - from;
        break;
      }
      this.position += nl + 1 - from;
      pieces.push(this.finishLine());
      from = nl + 1;
    }
    return pieces;
  }

  private hold(part: Buffer): void {
    if (part.length === 0) return;
    if (this.discarding) {
      this.heldLength += part.length;
      return;
    }
    // the limit applies to the line without its terminator; one byte of slack for a trailing \r
    if (this.heldLength + part.length > this.maxLineBytes + 1) {
      const all = Buffer.concat([...this.held, part]);
      this.head = Buffer.from(all.subarray(0, this.headBytes));
      this.held = [];
      this.heldLength += part.length;
      this.discarding = true;
      return;
    }
    this.held.push(part);
    this.heldLength += part.length;
  }

  private finishLine(): Piece {
    const start = this.lineStart;
    const end = this.position;
    let piece: Piece;
    if (this.discarding) {
      piece = { kind: 'oversize', start, end, head: this.head, length: this.heldLength };
    } else {
      let bytes = this.held.length === 1 ? (this.held[0] as Buffer) : Buffer.concat(this.held, this.heldLength);
      if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, bytes.length - 1);
      piece = bytes.length > this.maxLineBytes ? { kind: 'oversize', start, end, head: Buffer.from(bytes.subarray(0, this.headBytes)), length: bytes.length } : { kind: 'line', start, end, bytes };
    }
    this.held = [];
    this.heldLength = 0;
    this.discarding = false;
    this.head = Buffer.alloc(0);
    this.lineStart = end;
    return piece;
  }
}
