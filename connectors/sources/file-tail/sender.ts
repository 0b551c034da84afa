import type { OutgoingRecord, Producer } from '../../../pipeline/bus/types.js';
import { isTallyError, messageOf } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';
import type { LineOrigin } from './records.js';
import type { Cursor } from './registry.js';
import { Signal } from './signal.js';

/**
 * One queued piece of a file: a line for raw.<kind>, a dead letter for dlq.<kind>, or lines that
 * need no record (filtered, empty). Every item advances its cursor to `end` once acknowledged, in
 * queue order, so filtered lines are acknowledged with the lines around them (as libbeat does).
 */
export interface Item {
  cursor: Cursor;
  end: number;
  kind: 'line' | 'dlq' | 'skip';
  record: OutgoingRecord | null;
  /** for a record Kafka refuses as too large: the file it came from (shared by the file's lines) and the line's offset */
  origin?: Omit<LineOrigin, 'offset'>;
  offset?: number;
}

export interface SenderOptions {
  batchMaxLines: number;
  batchMaxBytes: number;
  lingerMs: number;
  maxQueuedLines: number;
  /** sends awaiting Kafka at once; acknowledgements still apply in order */
  maxInFlightSends: number;
}

export interface SenderHooks {
  /** called in queue order after Kafka acknowledged the items' records */
  acked(items: Item[]): void;
  /** a record Kafka refused as too large becomes this dead letter */
  tooLarge(item: Item, reason: string): OutgoingRecord;
  log: Logger;
}

const sizeErrors = new Set(['MESSAGE_TOO_LARGE', 'MSG_SIZE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

function isSizeError(error: unknown): boolean {
  return isTallyError(error, 'KAFKA_PERMANENT') && sizeErrors.has(String(error.details?.kafkaError));
}

const valueBytes = (record: OutgoingRecord | null): number => (record?.value ? (typeof record.value === 'string' ? record.value.length : record.value.length) : 0);

/**
 * Batches items into sends, up to `maxInFlightSends` awaiting Kafka at once (the producer keeps
 * their order; a retried batch may land after a later one), each retried with backoff until
 * acknowledged; cursors advance strictly in queue order.
 */
export class Sender {
  private queue: Item[] = [];
  private queuedRecords = 0;
  private queuedBytes = 0;
  private oldestAt = 0;
  private readonly wake = new Signal();
  private readonly aborted = new Signal();
  private resolveAbort!: () => void;
  /** resolves when abandoned: a send still waiting on Kafka is no longer waited for */
  private readonly abortion = new Promise<'aborted'>((resolve) => {
    this.resolveAbort = () => resolve('aborted');
  });
  /** notified whenever the queue shrinks or the sender stops */
  readonly space = new Signal();
  private stopping = false;
  private abandoned = false;
  private inFlight = 0;
  private readonly loop: Promise<void>;
  sends = 0;
  retries = 0;
  lastError: string | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly options: SenderOptions,
    private readonly hooks: SenderHooks,
  ) {
    this.loop = this.run();
  }

  push(item: Item): void {
    if (item.kind === 'skip') {
      const last = this.queue[this.queue.length - 1];
      if (last && last.cursor === item.cursor) {
        last.end = item.end;
        item.cursor.enqueued = item.end;
        return;
      }
    } else {
      this.queuedRecords += 1;
      this.queuedBytes += valueBytes(item.record);
    }
    const first = this.queue.length === 0;
    if (first) this.oldestAt = Date.now();
    item.cursor.pending += 1;
    item.cursor.enqueued = item.end;
    this.queue.push(item);
    // the first item starts the linger clock; a full batch goes at once
    if (first || this.queuedRecords >= this.options.batchMaxLines || this.queuedBytes >= this.options.batchMaxBytes) this.wake.notify();
  }

  /** reading pauses while this is true */
  get full(): boolean {
    return this.queuedRecords >= this.options.maxQueuedLines || this.queuedBytes >= 4 * this.options.batchMaxBytes;
  }

  get backlog(): number {
    return this.queue.length + this.inFlight;
  }

  /** Send everything queued, then end the loop. With `abandonAfterMs`, give up retrying after that long (unsent items stay unacknowledged). */
  async stop(abandonAfterMs?: number): Promise<void> {
    this.stopping = true;
    this.wake.notify();
    let timer: NodeJS.Timeout | undefined;
    if (abandonAfterMs !== undefined) {
      timer = setTimeout(() => this.abandon(), abandonAfterMs);
    }
    await this.loop;
    if (timer) clearTimeout(timer);
  }

  /** Stop at once; what is unacknowledged stays so (a crash, as far as the registry knows). */
  abandon(): void {
    this.abandoned = true;
    this.stopping = true;
    this.wake.notify();
    this.aborted.notify();
    this.resolveAbort();
    this.space.notify();
  }

  private async run(): Promise<void> {
    const flights: { items: Item[]; done: boolean; ok: boolean }[] = [];
    while (!this.abandoned) {
      // acknowledge finished sends strictly in order: a later batch never advances a cursor before an earlier one
      while (flights[0]?.done) {
        const flight = flights.shift() as (typeof flights)[number];
        if (!flight.ok) return this.end();
        for (const item of flight.items) item.cursor.pending -= 1;
        this.hooks.acked(flight.items);
        this.space.notify();
      }
      this.inFlight = flights.length;
      if (this.queue.length === 0) {
        if (this.stopping && flights.length === 0) break;
        await this.wake.wait();
        continue;
      }
      if (flights.length >= this.options.maxInFlightSends) {
        await this.wake.wait();
        continue;
      }
      const ready = this.stopping || this.queuedRecords >= this.options.batchMaxLines || this.queuedBytes >= this.options.batchMaxBytes;
      const lingerLeft = this.oldestAt + this.options.lingerMs - Date.now();
      if (!ready && lingerLeft > 0) {
        await this.wake.wait(lingerLeft);
        continue;
      }
      const flight = { items: this.take(), done: false, ok: false };
      flights.push(flight);
      void this.deliver(flight.items.filter((i) => i.record !== null)).then((ok) => {
        flight.ok = ok;
        flight.done = true;
        this.wake.notify();
      });
    }
    this.end();
  }

  private end(): void {
    this.inFlight = 0;
    this.space.notify();
  }

  private take(): Item[] {
    let records = 0;
    let bytes = 0;
    let count = 0;
    for (const item of this.queue) {
      if (item.record) {
        const size = valueBytes(item.record);
        if (records > 0 && (records >= this.options.batchMaxLines || bytes + size > this.options.batchMaxBytes)) break;
        records += 1;
        bytes += size;
      }
      count += 1;
    }
    const batch = this.queue.splice(0, count);
    this.queuedRecords -= records;
    this.queuedBytes -= bytes;
    this.oldestAt = Date.now();
    return batch;
  }

  /** true once every item's record is acknowledged; false when abandoned first */
  private async deliver(items: Item[]): Promise<boolean> {
    if (items.length === 0) return true;
    let delay = 100;
    for (;;) {
      if (this.abandoned) return false;
      try {
        this.sends += 1;
        const sending = this.producer.send(items.map((i) => i.record as OutgoingRecord));
        sending.catch(() => undefined); // observed below, or abandoned
        return (await Promise.race([sending.then(() => 'sent' as const), this.abortion])) === 'sent';
      } catch (error) {
        this.lastError = messageOf(error);
        if (isSizeError(error) && items.length > 1) {
          // find the record(s) Kafka refuses by halving; order is kept
          const half = Math.ceil(items.length / 2);
          return (await this.deliver(items.slice(0, half))) && this.deliver(items.slice(half));
        }
        if (isSizeError(error) && items[0]?.kind === 'line') {
          const item = items[0];
          item.record = this.hooks.tooLarge(item, messageOf(error));
          item.kind = 'dlq';
          continue;
        }
        this.retries += 1;
        const level = isTallyError(error) && !error.retriable ? 'error' : 'warn';
        this.hooks.log[level]({ err: error, records: items.length, retryInMs: delay }, 'producing file lines failed; retrying (nothing is acknowledged until Kafka accepts)');
        await this.aborted.wait(delay);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }
}
