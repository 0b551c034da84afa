import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from '../../../pipeline/bus/types.js';
import { isTallyError, messageOf } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';
import type { BudgetMember, ByteBudget } from './byte-budget.js';
import type { BeatsSourceConfig } from './config.js';
import { encodeAck, LumberjackDecoder, type DecodedWindow } from './protocol.js';
import { sliceByBytes, windowRecords } from './records.js';
import type { BeatsStats } from './stats.js';

export interface ConnectionContext {
  config: BeatsSourceConfig;
  producer: Producer;
  /** the bus's topic naming (prefix applied) */
  topicName: (name: string) => string;
  log: Logger;
  stats: BeatsStats;
  /** the server's one budget of bytes held across all connections */
  budget: ByteBudget;
}

/**
 * One client connection. Windows are decoded as bytes arrive, at most `maxPendingWindows` at a
 * time (then the socket is paused: TCP pushes back on the client, nothing piles up here), and
 * delivered to Kafka one after another. A window is acknowledged ('2A' + its last sequence
 * number) only after Kafka acknowledged all its records, in the order the windows came; while
 * the oldest waits, '2A 0' keepalives tell the client to keep waiting. Reading also pauses while
 * the server's byte budget (`maxBufferedBytes`, shared by all connections) is spent. A protocol
 * error, an idle or dribbling client, or a refusal Kafka will not take back closes this connection only.
 */
export class BeatsConnection implements BudgetMember {
  readonly client: string;
  readonly closed: Promise<void>;
  private readonly decoder: LumberjackDecoder;
  private readonly pending: DecodedWindow[] = [];
  private readonly abort = new AbortController();
  private sending = false;
  private paused = false;
  /** reading stopped: maxPendingWindows decoded windows wait */
  private windowsFull = false;
  /** reading stopped: the server's byte budget is spent */
  private overBudget = false;
  private draining = false;
  private ended = false;
  private lastWrite = Date.now();
  private headSince = 0;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private readTimer: NodeJS.Timeout | undefined;
  private readTimerKind: 'idle' | 'window' | undefined;
  private settled: () => void = () => undefined;
  private drained: (() => void) | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly context: ConnectionContext,
  ) {
    const { config } = context;
    this.client = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    this.decoder = new LumberjackDecoder(config);
    this.closed = new Promise((resolve) => (this.settled = resolve));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => context.log.debug({ client: this.client, err: error }, 'beats connection error'));
    socket.on('close', () => this.onClose());
    context.stats.connections += 1;
    context.stats.accepted += 1;
    context.log.debug({ client: this.client }, 'beats client connected');
    this.armReadTimer(true);
  }

  /** Stop reading, deliver and acknowledge the windows already received, then close. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    this.pause();
    this.clearReadTimer();
    if (this.pending.length > 0 && !this.ended) {
      const done = new Promise<void>((resolve) => (this.drained = resolve));
      const timer = setTimeout(() => this.close(`shutting down with ${this.pending.length} window(s) not acknowledged by Kafka after ${timeoutMs} ms; the client will resend them`, 'warn'), timeoutMs);
      await Promise.race([done, this.closed]);
      clearTimeout(timer);
    }
    if (!this.ended) {
      this.socket.end();
      const timer = setTimeout(() => this.socket.destroy(), 1000);
      await this.closed;
      clearTimeout(timer);
    }
  }

  /** Close this connection now, logging why. */
  close(reason: string, level: 'info' | 'warn' = 'info', error?: unknown): void {
    if (this.ended) return;
    this.context.log[level]({ client: this.client, reason, ...(error ? { err: error } : {}) }, `closing beats connection from ${this.client}: ${reason}`);
    this.shutdown();
    this.socket.destroy();
  }

  get heldBytes(): number {
    let bytes = this.decoder.heldBytes;
    for (const window of this.pending) bytes += window.bytes;
    return bytes;
  }

  get hasWholeWindows(): boolean {
    return this.pending.length > 0;
  }

  /** The budget has room again (or lets this connection finish its window). */
  wake(): void {
    this.overBudget = false;
    this.flow();
  }

  private onData(chunk: Buffer): void {
    if (this.ended || this.draining) return;
    this.decoder.push(chunk);
    const ok = this.fill();
    this.account();
    if (ok) void this.pump();
  }

  /** Tell the budget what this connection holds; stop reading while the budget is spent. */
  private account(): void {
    if (this.ended) return;
    const { budget } = this.context;
    budget.update(this);
    if (!this.overBudget && !budget.allows(this)) {
      this.overBudget = true;
      this.flow();
      budget.wait(this);
    }
  }

  /** Decode windows while there is room; pause reading when there is none. False if the client broke the protocol (then closed). */
  private fill(): boolean {
    let progress = false;
    try {
      while (!this.draining && this.pending.length < this.context.config.maxPendingWindows) {
        const window = this.decoder.next();
        if (!window) break;
        if (this.pending.length === 0) this.headSince = Date.now();
        this.pending.push(window);
        this.context.stats.windows += 1;
        progress = true;
      }
    } catch (error) {
      const protocol = isTallyError(error, 'PROTOCOL_ERROR');
      if (protocol) this.context.stats.protocolErrors += 1;
      this.close(messageOf(error), 'warn', protocol ? undefined : error);
      return false;
    }
    this.windowsFull = this.pending.length >= this.context.config.maxPendingWindows;
    this.flow();
    this.armReadTimer(progress);
    this.armKeepalive();
    return true;
  }

  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.pending.length > 0 && !this.ended) {
        const window = this.pending[0] as DecodedWindow;
        const delivered = await this.deliver(window);
        if (!delivered || this.ended) return;
        this.pending.shift();
        this.headSince = Date.now();
        this.write(encodeAck(window.lastSeq, window.version));
        this.context.stats.events += window.events.length;
        if (!this.draining) {
          const ok = this.fill();
          this.account();
          if (!ok) return;
        } else this.context.budget.update(this);
      }
    } catch (error) {
      this.close(`Kafka refused a window and retrying will not help, so it was not acknowledged: ${messageOf(error)}`, 'warn', error);
    } finally {
      this.sending = false;
      this.armKeepalive();
      if (this.pending.length === 0) this.drained?.();
    }
  }

  /** Send the window's records, retrying what Kafka did not acknowledge; false if the connection ended first. */
  private async deliver(window: DecodedWindow): Promise<boolean> {
    const { config, producer, topicName, stats, log } = this.context;
    const { records, rejected } = windowRecords(window, { kind: config.kind, topic: topicName(`raw.${config.kind}`), topicName, clientAddress: this.client, maxRecordBytes: config.maxRecordBytes });
    const slices = sliceByBytes(records, config.sendMaxBytes);
    let delay = config.retryInitialMs;
    for (let i = 0; i < slices.length; ) {
      if (this.ended) return false;
      try {
        await producer.send(slices[i] as (typeof slices)[number]);
        i += 1;
        delay = config.retryInitialMs;
      } catch (error) {
        if (isTallyError(error) && !error.retriable) throw error;
        stats.retries += 1;
        log.warn({ client: this.client, err: error, retryInMs: delay }, 'Kafka did not acknowledge a beats window; retrying, the client is not acknowledged meanwhile');
        try {
          await sleep(delay, undefined, { signal: this.abort.signal });
        } catch {
          return false;
        }
        delay = Math.min(delay * 2, config.retryMaxMs);
      }
    }
    stats.rejected += rejected;
    return true;
  }

  private write(frame: Buffer): void {
    if (this.ended || !this.socket.writable) return;
    this.socket.write(frame);
    this.lastWrite = Date.now();
    this.armKeepalive();
  }

  /** While the oldest window waits, '2A 0' whenever nothing was written for keepaliveMs. */
  private armKeepalive(): void {
    clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
    const head = this.pending[0];
    if (this.ended || !head) return;
    const wait = Math.max(0, Math.max(this.lastWrite, this.headSince) + this.context.config.keepaliveMs - Date.now());
    this.keepaliveTimer = setTimeout(() => {
      this.context.stats.keepalives += 1;
      this.write(encodeAck(0, head.version));
    }, wait);
  }

  /**
   * Mid-window (and reading), the client owes bytes: the rest of the window must come within
   * windowTimeoutMs of the window's start or of the last completed window, however slowly it
   * trickles. With nothing pending and nothing half-received, idleTimeoutMs of silence closes.
   */
  private armReadTimer(progress: boolean): void {
    if (this.ended || this.draining) return this.clearReadTimer();
    const { config } = this.context;
    if (!this.paused && !this.decoder.idle) {
      if (this.readTimerKind === 'window' && !progress) return;
      this.setReadTimer('window', config.windowTimeoutMs, `the client began a window or frame and did not finish it within ${config.windowTimeoutMs} ms (${this.decoder.buffered} bytes of it received)`);
    } else if (this.pending.length === 0 && this.decoder.idle) {
      this.setReadTimer('idle', config.idleTimeoutMs, `idle for ${config.idleTimeoutMs} ms`);
    } else {
      this.clearReadTimer();
    }
  }

  private setReadTimer(kind: 'idle' | 'window', ms: number, reason: string): void {
    this.clearReadTimer();
    this.readTimerKind = kind;
    this.readTimer = setTimeout(() => {
      this.context.stats.timeouts += 1;
      this.close(reason, kind === 'window' ? 'warn' : 'info');
    }, ms);
  }

  private clearReadTimer(): void {
    clearTimeout(this.readTimer);
    this.readTimer = undefined;
    this.readTimerKind = undefined;
  }

  /** Read while there is room for windows and in the budget; pause otherwise (and while draining). */
  private flow(): void {
    if (this.ended) return;
    if (this.draining || this.windowsFull || this.overBudget) this.pause();
    else if (this.paused) {
      this.paused = false;
      this.socket.resume();
      this.armReadTimer(true);
    }
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
    this.armReadTimer(false);
  }

  private shutdown(): void {
    if (this.ended) return;
    this.ended = true;
    this.abort.abort();
    this.clearReadTimer();
    clearTimeout(this.keepaliveTimer);
  }

  private onClose(): void {
    const wasEnded = this.ended;
    this.shutdown();
    this.context.budget.leave(this);
    this.context.stats.connections -= 1;
    if (!wasEnded && this.pending.length > 0) this.context.log.info({ client: this.client, windows: this.pending.length }, 'beats client disconnected with windows not yet acknowledged; it will resend them');
    this.context.log.debug({ client: this.client }, 'beats client disconnected');
    this.drained?.();
    this.settled();
  }
}
