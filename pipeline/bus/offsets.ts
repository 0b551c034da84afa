/**
 * Per-partition bookkeeping of delivered and done offsets. Offsets need not be consecutive
 * (compaction, transaction markers), so "contiguous" follows delivery order, not offset + 1.
 */
class PartitionLedger {
  private readonly delivered: number[] = [];
  private head = 0;
  private readonly doneSet = new Set<number>();
  /** next offset to commit (last contiguous done + 1), or undefined when nothing is done yet */
  next: number | undefined;
  dirty = false;

  deliver(offset: number): void {
    const last = this.delivered[this.delivered.length - 1];
    if (last !== undefined && offset <= last) return; // a redelivery already tracked
    this.delivered.push(offset);
  }

  done(offset: number): boolean {
    if (this.next !== undefined && offset < this.next) return false;
    if (this.doneSet.has(offset)) return false;
    this.doneSet.add(offset);
    while (this.head < this.delivered.length) {
      const candidate = this.delivered[this.head] as number;
      if (!this.doneSet.has(candidate)) break;
      this.doneSet.delete(candidate);
      this.next = candidate + 1;
      this.dirty = true;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.delivered.length) {
      this.delivered.splice(0, this.head);
      this.head = 0;
    }
    return true;
  }

  pending(): number {
    return this.delivered.length - this.head;
  }

  /** whether `offset` lies past every offset delivered and the commit point */
  beyond(offset: number): boolean {
    const last = this.delivered[this.delivered.length - 1];
    return (last === undefined || offset > last) && (this.next === undefined || offset >= this.next);
  }
}

export interface CommitPoint {
  topic: string;
  partition: number;
  offset: number;
}

export class OffsetLedger {
  private readonly partitions = new Map<string, PartitionLedger>();
  private outstanding = 0;

  private ledger(topic: string, partition: number): PartitionLedger {
    const key = `${topic}\u0000${partition}`;
    let ledger = this.partitions.get(key);
    if (!ledger) {
      ledger = new PartitionLedger();
      this.partitions.set(key, ledger);
    }
    return ledger;
  }

  tracks(topic: string, partition: number): boolean {
    return this.partitions.has(`${topic}\u0000${partition}`);
  }

  /**
   * An offset the fetch position passed without a message (a transaction marker): delivered and
   * done at once. False when it is not beyond everything delivered (nothing to step over).
   */
  passed(topic: string, partition: number, offset: number): boolean {
    const ledger = this.ledger(topic, partition);
    if (!ledger.beyond(offset)) return false;
    ledger.deliver(offset);
    return ledger.done(offset);
  }

  deliver(topic: string, partition: number, offset: number): void {
    const ledger = this.ledger(topic, partition);
    const before = ledger.pending();
    ledger.deliver(offset);
    this.outstanding += ledger.pending() - before;
  }

  /** returns false for an offset that was not outstanding (already done, or from before a reset) */
  done(topic: string, partition: number, offset: number): boolean {
    const ledger = this.partitions.get(`${topic}\u0000${partition}`);
    if (!ledger) return false;
    const before = ledger.pending();
    const accepted = ledger.done(offset);
    this.outstanding -= before - ledger.pending();
    return accepted;
  }

  /** delivered and not yet contiguously done */
  inFlight(): number {
    return this.outstanding;
  }

  /** commit points that moved since the last call */
  takeCommittable(): CommitPoint[] {
    const points: CommitPoint[] = [];
    for (const [key, ledger] of this.partitions) {
      if (!ledger.dirty || ledger.next === undefined) continue;
      const [topic, partition] = key.split('\u0000') as [string, string];
      points.push({ topic, partition: Number(partition), offset: ledger.next });
    }
    return points;
  }

  /** every partition's next commit point, committed or not */
  points(): CommitPoint[] {
    const points: CommitPoint[] = [];
    for (const [key, ledger] of this.partitions) {
      if (ledger.next === undefined) continue;
      const [topic, partition] = key.split('\u0000') as [string, string];
      points.push({ topic, partition: Number(partition), offset: ledger.next });
    }
    return points;
  }

  /** after the broker acknowledged a commit of these points */
  markCommitted(points: CommitPoint[]): void {
    for (const point of points) {
      const ledger = this.partitions.get(`${point.topic}\u0000${point.partition}`);
      if (ledger && ledger.next === point.offset) ledger.dirty = false;
    }
  }

  /** forget partitions (revoked) or everything (new generation) */
  reset(partitions?: { topic: string; partition: number }[]): void {
    if (!partitions) {
      this.partitions.clear();
      this.outstanding = 0;
      return;
    }
    for (const { topic, partition } of partitions) {
      const key = `${topic}\u0000${partition}`;
      const ledger = this.partitions.get(key);
      if (ledger) this.outstanding -= ledger.pending();
      this.partitions.delete(key);
    }
  }
}
