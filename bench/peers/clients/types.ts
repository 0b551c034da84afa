/** One message of a client loop: the same keys, values and partitions for every client. */
export interface LoopMessage {
  key: Buffer;
  value: Buffer;
  partition: number;
}

/** What a client loop needs to know about its run; `progress` is told how many messages are done. */
export interface LoopRun {
  brokers: string[];
  /** produce: the topic written; consume and transform: the topic read from its start */
  topic: string;
  /** transform: the topic written in the transactions */
  outputTopic: string;
  group: string;
  /** consume and transform: stop counting at this many */
  count: number;
  progress: (done: number) => void;
}

/**
 * Messages per send inside a transaction, for the JavaScript clients that put one send of one
 * partition into one request: 1,024 envelopes stay under the broker's 1 MB message.max.bytes.
 */
export const transactionSendMessages = 1024;

/** Messages per transaction (and per handler call) at most: the transform's maxBatchMessages. */
export const transformBatchMessages = 5000;

/**
 * The three loops of the `clients` case for one client, each through the client's own most efficient
 * documented API. produce: acks=all, idempotent, resolves once every message is acknowledged;
 * consume: a fresh group reads `count` messages from the start, read_committed; transform: the
 * same read, each batch copied to `outputTopic` in one transaction with its offsets (sendOffsets).
 */
export interface ClientLoop {
  /** the API measured and how it was set up, for the report */
  readonly detail: { produce: string; consume: string; transform: string };
  produce(run: LoopRun, messages: LoopMessage[]): Promise<void>;
  consume(run: LoopRun): Promise<void>;
  transform(run: LoopRun): Promise<void>;
  close(): Promise<void>;
}

/** The highest offset + 1 of each partition in a batch: what a transaction commits for its group. */
export function nextOffsets<T extends { partition: number; offset: number | bigint | string }>(messages: readonly T[]): Map<number, bigint> {
  const next = new Map<number, bigint>();
  for (const m of messages) {
    const after = BigInt(m.offset) + 1n;
    if ((next.get(m.partition) ?? -1n) < after) next.set(m.partition, after);
  }
  return next;
}

/** Settings every librdkafka-based client gets, the bench's own (README "Settings every tool shares"). */
export const librdkafkaProducerSettings = { 'linger.ms': 5, 'batch.num.messages': 10_000, 'queue.buffering.max.messages': 200_000, 'compression.codec': 'none' } as const;

/** What a loop opened, closed in turn at the end (errors ignored: the process exits next). */
export class Closers {
  private readonly list: (() => Promise<unknown>)[] = [];

  add(...close: (() => Promise<unknown>)[]): void {
    this.list.push(...close);
  }

  async closeAll(): Promise<void> {
    for (const close of this.list.splice(0)) await close().catch(() => undefined);
  }
}
