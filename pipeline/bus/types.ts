import type { KafkaBackendName } from '../config/types.js';

/** What a stage hands to Kafka. `send` resolves only after every record is acknowledged by all in-sync replicas. */
export interface OutgoingRecord {
  topic: string;
  key?: string | Buffer | null;
  value: string | Buffer | null;
  /** UTF-8 text only: the native backend cannot carry binary header values (node-rdkafka passes them as C strings) */
  headers?: Record<string, string>;
  partition?: number;
  /** milliseconds since the epoch; defaults to now */
  timestamp?: number;
}

export interface Producer {
  send(records: OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  /** overrides kafka.produceRetries (0 makes a produce fail fast while the broker is away) */
  retries?: number;
  /** overrides kafka.requestTimeoutMs: the time a produce may wait for acknowledgement */
  timeoutMs?: number;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  /** int64 as a decimal string, as Kafka clients report it */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  timestamp: number;
  /** the assignment generation this message was delivered in; marking it done after a rebalance is ignored */
  generation: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** where a group without committed offsets starts */
  fromBeginning?: boolean;
  /** delivered-but-not-done messages before the consumer pauses (backpressure); default kafka.maxInFlight */
  maxInFlight?: number;
  /** how often done work is committed; 0 commits after every change; default kafka.commitIntervalMs */
  commitIntervalMs?: number;
  /** the most messages one handler call gets: the stage's batch size (default: rdkafka 1000, kafkajs one fetch) */
  maxBatchMessages?: number;
  /**
   * Offsets are committed only inside the transactions of a TransactionalProducer
   * (`committable` / `committedInTransaction`): the consumer never commits on its own, not on a
   * timer, a rebalance or close.
   */
  transactional?: boolean;
}

export type MessageHandler = (messages: IncomingMessage[]) => void | Promise<void>;

export interface ConsumerEvents {
  assigned: (partitions: TopicPartition[]) => void;
  revoked: (partitions: TopicPartition[]) => void;
  committed: (offsets: CommittedOffset[]) => void;
  error: (error: Error) => void;
}

export interface CommittedOffset extends TopicPartition {
  /** the next offset to read: last done + 1 */
  offset: string;
}

/**
 * Messages are handed to the handler in batches, in partition order. The stage marks each one
 * `done` when everything it caused is durable downstream (or in the dead-letter topic); the consumer
 * commits, per partition, the highest offset below which everything is done.
 */
export interface Consumer {
  run(handler: MessageHandler): Promise<void>;
  done(message: IncomingMessage): void;
  /** commit what is done now; resolves when the broker acknowledged */
  commit(): Promise<CommittedOffset[]>;
  pause(): void;
  resume(): void;
  assignment(): TopicPartition[];
  inFlight(): number;
  on<E extends keyof ConsumerEvents>(event: E, listener: ConsumerEvents[E]): void;
  /** stop fetching, commit what is done (unless commit: false, which simulates a crash), leave the group */
  close(options?: { commit?: boolean }): Promise<void>;
  /** per partition of this generation, the offset below which everything is done (transaction markers stepped over), committed or not */
  doneUpTo(): CommittedOffset[];
  /** the group's offsets that moved since they were last committed: what a transaction commits now */
  committable(): CommittedOffset[];
  /** after a transaction holding these offsets committed */
  committedInTransaction(offsets: CommittedOffset[]): void;
  /**
   * After an aborted transaction: forget what was delivered and done, and read again from the
   * group's committed offsets (a new generation: what is marked done from before is ignored).
   * Resolves with the new generation once every assigned partition is positioned.
   */
  rewind(): Promise<number>;
  /** the assignment generation messages delivered now carry: a batch of an older one is delivered again */
  currentGeneration(): number;
}

/**
 * A producer whose every `transact` is one Kafka transaction: the records and the consumer
 * group's offsets become visible to read-committed readers together, or not at all.
 */
export interface TransactionalProducer {
  readonly transactionalId: string;
  /**
   * Produce the records and commit `offsets` of `consumer`'s group in one transaction. On failure
   * the transaction is aborted (or fenced) and this rejects; the producer is usable again (a fatal
   * state makes it start over with a new producer epoch under the same transactional id). It
   * rejects only after the transaction's outcome is in the log where it can (a commit whose answer
   * was lost may still have committed), so the group's committed offsets read next are final.
   */
  transact(records: OutgoingRecord[], consumer: Consumer, offsets: CommittedOffset[]): Promise<void>;
  close(): Promise<void>;
}

export interface TransactionalProducerOptions {
  /** stable for one transform instance; a new producer with the same id fences an older one */
  transactionalId: string;
  /** the broker aborts a transaction open longer than this (bounded by transaction.max.timeout.ms) */
  transactionTimeoutMs: number;
}

export interface TopicSpec {
  topic: string;
  partitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface PartitionOffsets {
  partition: number;
  /** committed offset of the group, or -1 when none */
  committed: string;
  /** log end offset (high watermark) */
  end: string;
  lag: number;
}

export interface Admin {
  createTopics(topics: TopicSpec[]): Promise<void>;
  deleteTopics(topics: string[]): Promise<void>;
  listTopics(): Promise<string[]>;
  partitionCount(topic: string): Promise<number>;
  groupOffsets(groupId: string, topic: string): Promise<PartitionOffsets[]>;
  close(): Promise<void>;
}

export interface Bus {
  readonly backend: KafkaBackendName;
  /** the configured prefix applied to a logical topic name (raw.accounting → <prefix>raw.accounting) */
  topic(name: string): string;
  producer(options?: ProducerOptions): Promise<Producer>;
  transactionalProducer(options: TransactionalProducerOptions): Promise<TransactionalProducer>;
  consumer(options: ConsumerOptions): Promise<Consumer>;
  admin(): Promise<Admin>;
}
