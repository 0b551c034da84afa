import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
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
  ) {}

  abstract run(handler: MessageHandler): Promise<void>;
  abstract assignment(): TopicPartition[];
  protected abstract commitPoints(points: CommitPoint[]): Promise<void>;
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
      if (!this.userPaused) this.pausePartitions();
    } else if (this.pressurePaused && inFlight <= this.maxInFlight / 2) {
      this.pressurePaused = false;
      if (!this.userPaused) this.resumePartitions();
      for (const wake of this.drainWaiters.splice(0)) wake();
    }
  }

  /** Resolves once in-flight work is below the resume mark (used by fetch loops that must not run ahead). */
  protected async belowPressure(heartbeat?: () => Promise<void>): Promise<void> {
    while (this.pressurePaused && !this.closed) {
      await Promise.race([new Promise<void>((resolve) => this.drainWaiters.push(resolve)), sleep(1000)]);
      if (heartbeat) await heartbeat();
    }
  }

  protected isPaused(): boolean {
    return this.userPaused || this.pressurePaused;
  }

  pause(): void {
    if (this.userPaused) return;
    this.userPaused = true;
    if (!this.pressurePaused) this.pausePartitions();
  }

  resume(): void {
    if (!this.userPaused) return;
    this.userPaused = false;
    if (!this.pressurePaused) this.resumePartitions();
  }

  private scheduleCommit(): void {
    if (this.commitTimer || this.closed) return;
    if (this.commitIntervalMs === 0) {
      this.commit().catch((error: unknown) => this.events.emit('error', error));
      return;
    }
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      this.commit().catch((error: unknown) => this.events.emit('error', error));
    }, this.commitIntervalMs);
  }

  /** Commits are serialised so a slow one is never overtaken by an older point. */
  commit(): Promise<CommittedOffset[]> {
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
    if (options.commit !== false) {
      try {
        await this.commit();
      } catch (error) {
        this.events.emit('error', error);
      }
    }
    await this.shutdown();
  }
}
