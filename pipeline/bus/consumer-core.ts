import { EventEmitter } from 'node:events';
import { OffsetLedger, type CommitPoint } from './offsets.js';
import type { CommittedOffset, Consumer, ConsumerEvents, IncomingMessage, MessageHandler, TopicPartition } from './types.js';

/**
 * The backend-independent half of a consumer: done-tracking, commit scheduling, generations and
 * backpressure. A backend supplies fetching, committing and pausing.
 */
export abstract class ConsumerCore implements Consumer {
  protected readonly ledger = new OffsetLedger();
  protected readonly events = new EventEmitter();
  protected generation = 0;
  protected handler: MessageHandler | undefined;
  protected closed = false;
  private userPaused = false;
  private pressurePaused = false;
  private commitTimer: NodeJS.Timeout | undefined;
  private commitChain: Promise<unknown> = Promise.resolve();
  private readonly drainWaiters: (() => void)[] = [];

  protected constructor(
    protected readonly maxInFlight: number,
    protected readonly commitIntervalMs: number,
    /** offsets are committed only in a transactional producer's transactions */
    protected readonly transactional = false,
  ) {}

  abstract run(handler: MessageHandler): Promise<void>;
  abstract assignment(): TopicPartition[];
  protected abstract commitPoints(points: CommitPoint[]): Promise<void>;
  /** position every assigned partition at the group's committed offset (its reset point when none) */
  protected abstract seekToCommitted(): Promise<void>;
  protected abstract pausePartitions(): void;
  protected abstract resumePartitions(): void;
  /** stop fetching and wait for the batch being handed over; the group membership stays so a commit still counts */
  protected abstract stopFetching(): Promise<void>;
  /** leave the group and disconnect */
  protected abstract shutdown(): Promise<void>;

  on<E extends keyof ConsumerEvents>(event: E, listener: ConsumerEvents[E]): void {
    this.events.on(event, listener);
  }

  inFlight(): number {
    return this.ledger.inFlight();
  }

  /** Backends call this for each fetched batch before handing it on. */
  protected track(messages: IncomingMessage[]): void {
    for (const message of messages) this.ledger.deliver(message.topic, message.partition, Number(message.offset));
    this.applyPressure();
  }

  done(message: IncomingMessage): void {
    if (message.generation !== this.generation) return;
    if (!this.ledger.done(message.topic, message.partition, Number(message.offset))) return;
    this.applyPressure();
    this.scheduleCommit();
  }

  private applyPressure(): void {
    const inFlight = this.ledger.inFlight();
    if (!this.pressurePaused && inFlight >= this.maxInFlight) {
      this.pressurePaused = true;
      this.syncPause();
    } else if (this.pressurePaused && inFlight <= this.maxInFlight / 2) {
      this.pressurePaused = false;
      this.longPressure = false;
      this.syncPause();
      for (const wake of this.drainWaiters.splice(0)) wake();
    }
  }

  /**
   * Whether the backend pauses its partitions while in-flight work is over the bound. librdkafka
   * drops what it has fetched for a partition when it is paused and fetches it again on resume, so
   * the rdkafka backend stops taking messages from its local queue instead (`waitForRoom`), and
   * pauses only when the pressure lasts (`pauseForLongPressure`).
   */
  protected pausesUnderPressure = true;
  private longPressure = false;
  private partitionsPaused = false;

  /** The pressure lasts: pause the partitions after all, until in-flight work falls below the resume mark. */
  protected pauseForLongPressure(): void {
    if (!this.pressurePaused || this.longPressure) return;
    this.longPressure = true;
    this.syncPause();
  }

  /** Pauses or resumes the partitions when the wanted state changed: paused by the user, or under pressure where the backend pauses for it. */
  private syncPause(): void {
    const wanted = this.userPaused || (this.pressurePaused && (this.pausesUnderPressure || this.longPressure));
    if (wanted === this.partitionsPaused) return;
    this.partitionsPaused = wanted;
    if (wanted) this.pausePartitions();
    else this.resumePartitions();
  }

  /** Resolves when in-flight work fell below the resume mark, or after `ms`, whichever is first: true when there is room. */
  protected async waitForRoom(ms: number): Promise<boolean> {
    if (!this.pressurePaused || this.closed) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => this.drainWaiters.push(resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    return !this.pressurePaused;
  }

  /** Resolves once in-flight work is below the resume mark (used by fetch loops that must not run ahead). */
  protected async belowPressure(heartbeat?: () => Promise<void>): Promise<void> {
    while (this.pressurePaused && !this.closed) {
      await this.waitForRoom(1000);
      if (heartbeat) await heartbeat();
    }
  }

  /** whether the partitions are paused now (a new assignment must be paused again) */
  protected isPaused(): boolean {
    return this.partitionsPaused;
  }

  pause(): void {
    if (this.userPaused) return;
    this.userPaused = true;
    this.syncPause();
  }

  resume(): void {
    if (!this.userPaused) return;
    this.userPaused = false;
    this.syncPause();
  }

  private scheduleCommit(delayMs = this.commitIntervalMs): void {
    if (this.commitTimer || this.closed || this.transactional) return;
    if (delayMs === 0) {
      this.commit().catch((error: unknown) => this.commitFailed(error));
      return;
    }
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      this.commit().catch((error: unknown) => this.commitFailed(error));
    }, delayMs);
  }

  /**
   * A failed commit (the broker away, the coordinator moving) is tried again on its own: waiting for
   * the next done message would leave the last work uncommitted, and its lag standing, for as long
   * as no new input arrives.
   */
  private commitFailed(error: unknown): void {
    this.events.emit('error', error);
    this.scheduleCommit(Math.max(1000, this.commitIntervalMs));
  }

  /**
   * The fetch position passed `offset` of a partition without a message there (a transaction's
   * commit or abort marker, aborted records): it counts as delivered and done, so the committed
   * offset can step over it. `onlyTracked`: only on a partition with deliveries in this generation
   * (a position read before any delivery may still be an older generation's). Without this a read-committed consumer's lag would stay 1 after the
   * last transaction of a partition.
   */
  protected passed(topic: string, partition: number, offset: number, onlyTracked = false): void {
    if (onlyTracked && !this.ledger.tracks(topic, partition)) return;
    if (!this.ledger.passed(topic, partition, offset)) return;
    this.scheduleCommit();
  }

  doneUpTo(): CommittedOffset[] {
    return this.ledger.points().map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.offset) }));
  }

  committable(): CommittedOffset[] {
    return this.ledger.takeCommittable().map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.offset) }));
  }

  committedInTransaction(offsets: CommittedOffset[]): void {
    this.ledger.markCommitted(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset) })));
    for (const { topic, partition, offset } of offsets) {
      const key = `${topic}\u0000${partition}`;
      this.committedByUs.set(key, Math.max(this.committedByUs.get(key) ?? 0, Number(offset)));
    }
    if (offsets.length) this.events.emit('committed', offsets);
  }

  /** per partition, the highest offset a transaction of this process committed; it outlives generations */
  private readonly committedByUs = new Map<string, number>();

  /**
   * Whether a transaction of this process already committed past `offset`. A group's committed
   * offset read while that transaction's markers are still being written is the older one (a
   * client without KIP-447's require_stable reads it so after every rejoin): what lies below is done.
   */
  protected committedInOwnTransaction(topic: string, partition: number, offset: number): boolean {
    return this.transactional && offset < (this.committedByUs.get(`${topic}\u0000${partition}`) ?? 0);
  }

  currentGeneration(): number {
    return this.generation;
  }

  async rewind(): Promise<number> {
    this.newGeneration(this.assignment());
    const generation = this.generation;
    for (let attempt = 1; !this.closed; attempt += 1) {
      try {
        await this.seekToCommitted();
        break;
      } catch (error) {
        // a new assignment meanwhile positions the partitions anew
        if (generation !== this.generation) break;
        this.events.emit('error', error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 200 * 2 ** Math.min(attempt, 6))));
      }
    }
    return this.generation;
  }

  /** Commits are serialised so a slow one is never overtaken by an older point. */
  commit(): Promise<CommittedOffset[]> {
    if (this.transactional) return Promise.resolve([]);
    const run = this.commitChain.then(async () => {
      const points = this.ledger.takeCommittable();
      if (points.length === 0) return [];
      await this.commitPoints(points);
      this.ledger.markCommitted(points);
      const committed = points.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.offset) }));
      this.events.emit('committed', committed);
      return committed;
    });
    this.commitChain = run.catch(() => undefined);
    return run;
  }

  /** A new assignment generation: everything delivered before it will be delivered again from the committed offsets. */
  protected newGeneration(assigned: TopicPartition[]): void {
    this.generation += 1;
    this.ledger.reset();
    if (this.pressurePaused) {
      this.pressurePaused = false;
      this.longPressure = false;
      this.partitionsPaused = this.userPaused;
      for (const wake of this.drainWaiters.splice(0)) wake();
    }
    this.events.emit('assigned', assigned);
  }

  async close(options: { commit?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    for (const wake of this.drainWaiters.splice(0)) wake();
    await this.stopFetching();
    if (options.commit !== false && !this.transactional) {
      try {
        await this.commit();
      } catch (error) {
        this.events.emit('error', error);
      }
    }
    await this.shutdown();
  }
}
