/**
 * Bytes received but not yet decoded, kept as the chunks they arrived in: appending never copies,
 * and a frame is copied out once, when all of it is there (a frame trickling in one byte per
 * packet costs one copy, not one per byte).
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** read position inside chunks[0] */
  private offset = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** The next `n` bytes, removed from the queue; the caller checks `length >= n` first. */
  take(n: number): Buffer {
    if (n > this.size) throw new RangeError(`take(${n}) with ${this.size} bytes queued`);
    const first = this.chunks[0];
    if (first && first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const count = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(out, filled, this.offset, this.offset + count);
      filled += count;
      this.advance(count);
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.offset = 0;
    this.size = 0;
  }

  private advance(n: number): void {
    this.size -= n;
    this.offset += n;
    while (this.chunks.length > 0 && this.offset >= (this.chunks[0] as Buffer).length) {
      this.offset -= (this.chunks[0] as Buffer).length;
      this.chunks.shift();
    }
  }
}
