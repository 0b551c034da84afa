import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { Consumer as JsConsumer, ConsumerRunConfig, EachBatchPayload, Kafka, Producer as JsProducer } from 'kafkajs';
import type { KafkaConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { ConsumerCore } from './consumer-core.js';
import { TallyError, messageOf } from '../errors.js';
import { kafkaErrorName, toKafkaError } from './kafka-errors.js';
import type { CommitPoint } from './offsets.js';
import { recordBytes } from './record-size.js';
import { kafkajsSecurity } from './security.js';
import type { CommittedOffset, Consumer, ConsumerOptions, IncomingMessage, MessageHandler, OutgoingRecord, Producer, ProducerOptions, TopicPartition, TransactionalProducer, TransactionalProducerOptions } from './types.js';

const compressionCodes = { none: kafkajs.CompressionTypes.None, gzip: kafkajs.CompressionTypes.GZIP, snappy: kafkajs.CompressionTypes.Snappy, lz4: kafkajs.CompressionTypes.LZ4, zstd: kafkajs.CompressionTypes.ZSTD } as const;

function logCreator(log: Logger) {
  // kafkajs logs every retried response as an error; the bus decides what is an error, so they are warnings here
  const levels: Record<number, 'warn' | 'info' | 'debug'> = { 1: 'warn', 2: 'warn', 4: 'info', 5: 'debug' };
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const method = levels[level] ?? 'debug';
      const { message, ...rest } = entry;
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      log[method]({ kafkajs: rest }, message);
    };
}

export function kafkajsClient(config: KafkaConfig, log: Logger, clientSuffix = ''): Kafka {
  return new kafkajs.Kafka({
    clientId: `${config.clientId}${clientSuffix}`,
    brokers: config.brokers,
    connectionTimeout: Math.min(config.requestTimeoutMs, 10_000),
    requestTimeout: config.requestTimeoutMs,
    logLevel: kafkajs.logLevel.WARN,
    logCreator: logCreator(log.child({ component: 'kafkajs' })),
    ...kafkajsSecurity(config),
  });
}

/**
 * After a failed send, kafkajs's idempotent producer may hold sequence numbers the broker never
 * accepted (a MESSAGE_TOO_LARGE refusal leaves every later send failing with
 * OUT_OF_ORDER_SEQUENCE_NUMBER), so the next send starts on a fresh producer id.
 */
class KafkajsProducer implements Producer {
  private suspect = false;

  constructor(
    private producer: JsProducer,
    private readonly connect: () => Promise<JsProducer>,
    private readonly config: KafkaConfig,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  async send(records: OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.suspect) {
      await this.producer.disconnect().catch(() => undefined);
      this.producer = await this.connect();
      this.suspect = false;
    }
    try {
      await sendAll(this.producer, records, this.config, this.timeoutMs, this.log);
    } catch (error) {
      this.suspect = true;
      throw toKafkaError(`producing ${records.length} record(s) to ${[...new Set(records.map((r) => r.topic))].join(', ')}`, error);
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/**
 * Send records with a kafkajs producer or transaction: one request per broker per call; calls over
 * the count or byte limit are split, so no record batch exceeds the broker's message.max.bytes.
 */
async function sendAll(sender: Pick<JsProducer, 'sendBatch'>, records: OutgoingRecord[], config: KafkaConfig, timeoutMs: number, log: Logger): Promise<void> {
  const compression = compressionCodes[config.compression];
  for (const topicMessages of requestsOf(records, config.batchMaxMessages, config.batchMaxBytes)) {
    let pending = topicMessages;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const acknowledged = await sender.sendBatch({ topicMessages: pending, acks: -1, timeout: timeoutMs, compression });
      pending = unacknowledged(pending, acknowledged);
      if (pending.length === 0) break;
      const count = pending.reduce((n, t) => n + t.messages.length, 0);
      if (attempt >= 5) throw new TallyError('KAFKA_RETRIABLE', `kafkajs resolved a send without producing ${count} of its records (their partitions changed leader during the send, tulios/kafkajs#1303), ${attempt} times`);
      log.warn({ records: count, partitions: pending.map((t) => `${t.topic}:${[...new Set(t.messages.map((m) => m.partition))].join(',')}`) }, 'kafkajs resolved a send without producing every record (a partition changed leader during it, tulios/kafkajs#1303); sending those again');
    }
  }
}

type JsMessage = { key?: string | Buffer | null; value: string | Buffer | null; headers?: Record<string, string>; partition?: number; timestamp?: string };
type TopicMessages = { topic: string; messages: JsMessage[] }[];

/**
 * The records of a request whose partition has no acknowledgement in kafkajs's result. kafkajs
 * 2.2.4 retries a failed produce only towards brokers that have not answered yet: a partition whose
 * leader moved to a broker that already answered is never sent, and the send still resolves
 * (tulios/kafkajs#1303). Every record carries its partition (stickyPartitions), so what is missing
 * can be told and sent again.
 */
export function unacknowledged(request: TopicMessages, acknowledged: { topicName: string; partition: number }[]): TopicMessages {
  const byTopic = new Map<string, Set<number>>();
  for (const { topicName, partition } of acknowledged) {
    const set = byTopic.get(topicName) ?? new Set<number>();
    set.add(partition);
    byTopic.set(topicName, set);
  }
  const missing: TopicMessages = [];
  for (const { topic, messages } of request) {
    const done = byTopic.get(topic);
    const left = done ? messages.filter((m) => m.partition === undefined || !done.has(m.partition)) : messages;
    if (left.length) missing.push({ topic, messages: left });
  }
  return missing;
}

type Partitioner = ReturnType<typeof kafkajs.Partitioners.DefaultPartitioner>;

/** Each message keeps the partition chosen for it the first time, through kafkajs's retries and ours. */
export function stickyPartitions(choose: Partitioner): Partitioner {
  return (args) => {
    const message = args.message;
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const partition = choose(args);
    message.partition = partition;
    return partition;
  };
}

/**
 * The records as sendBatch requests, in order, each with at most `maxMessages` records and
 * `maxBytes` bytes (a record alone over the limit goes alone, for the broker to refuse).
 */
export function requestsOf(records: OutgoingRecord[], maxMessages: number, maxBytes: number): TopicMessages[] {
  const requests: TopicMessages[] = [];
  let byTopic = new Map<string, JsMessage[]>();
  let count = 0;
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r);
    if (count > 0 && (count >= maxMessages || bytes + size > maxBytes)) {
      requests.push([...byTopic].map(([topic, messages]) => ({ topic, messages })));
      byTopic = new Map();
      count = 0;
      bytes = 0;
    }
    const message: JsMessage = { key: r.key ?? null, value: r.value };
    if (r.headers) message.headers = r.headers;
    if (r.partition !== undefined) message.partition = r.partition;
    if (r.timestamp !== undefined) message.timestamp = String(r.timestamp);
    const list = byTopic.get(r.topic);
    if (list) list.push(message);
    else byTopic.set(r.topic, [message]);
    count += 1;
    bytes += size;
  }
  if (count > 0) requests.push([...byTopic].map(([topic, messages]) => ({ topic, messages })));
  return requests;
}

/** Kafka's murmur2 (the Java client's, as kafkajs's DefaultPartitioner computes it) in 32-bit arithmetic. */
export function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= (data[length4 + 2] as number) << 16;
  if (tail >= 2) h ^= (data[length4 + 1] as number) << 8;
  if (tail >= 1) h = Math.imul(h ^ (data[length4] as number), m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partitions kafkajs's DefaultPartitioner picks, without its 64-bit Long arithmetic, and the
 * last string key remembered (ship sends long runs of one key: one per file). Records without a key
 * go to kafkajs's own round robin.
 */
export function keyedPartitioner(): ReturnType<typeof kafkajs.Partitioners.DefaultPartitioner> {
  const roundRobin = kafkajs.Partitioners.DefaultPartitioner();
  let lastKey: string | undefined;
  let lastCount = -1;
  let lastPartition = 0;
  return (args) => {
    const { message } = args;
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const key = message.key;
    if (key === null || key === undefined) return roundRobin(args);
    const count = args.partitionMetadata.length;
    if (typeof key !== 'string') return (murmur2(key) & 0x7fffffff) % count;
    if (key === lastKey && count === lastCount) return lastPartition;
    lastPartition = (murmur2(Buffer.from(key)) & 0x7fffffff) % count;
    lastKey = key;
    lastCount = count;
    return lastPartition;
  };
}

export async function kafkajsProducer(client: Kafka, config: KafkaConfig, log: Logger, options: ProducerOptions = {}): Promise<Producer> {
  const retries = options.retries ?? config.produceRetries;
  const connect = async (): Promise<JsProducer> => {
    const producer = client.producer({
      createPartitioner: () => stickyPartitions(keyedPartitioner()),
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      retry: { retries, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    try {
      await producer.connect();
    } catch (error) {
      throw toKafkaError('connecting the producer', error);
    }
    return producer;
  };
  return new KafkajsProducer(await connect(), connect, config, options.timeoutMs ?? config.requestTimeoutMs, log);
}

/**
 * kafkajs transactions. `sendOffsets` takes the group id alone (TxnOffsetCommit without the
 * member's generation): the broker cannot fence a member that lost its partitions, so the consumer
 * side keeps a transaction from outliving its generation (KafkajsConsumer.handOver) and the README
 * names what is left.
 */
class KafkajsTransactionalProducer implements TransactionalProducer {
  private producer: JsProducer | undefined;

  constructor(
    private readonly client: Kafka,
    private readonly config: KafkaConfig,
    private readonly log: Logger,
    private readonly options: TransactionalProducerOptions,
  ) {}

  get transactionalId(): string {
    return this.options.transactionalId;
  }

  private async ready(): Promise<JsProducer> {
    if (this.producer) return this.producer;
    const producer = this.client.producer({
      createPartitioner: () => stickyPartitions(keyedPartitioner()),
      transactionalId: this.options.transactionalId,
      transactionTimeout: this.options.transactionTimeoutMs,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      // a transaction begun right after the last one committed meets CONCURRENT_TRANSACTIONS until the coordinator wrote its markers (milliseconds): retried after 200 ms, it cost most of the transform's throughput
      retry: { retries: Math.max(10, this.config.produceRetries), initialRetryTime: 20, maxRetryTime: 5_000 },
    });
    try {
      await producer.connect();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw toKafkaError(`connecting the transactional producer ${this.options.transactionalId}`, error);
    }
    this.producer = producer;
    return producer;
  }

  async transact(records: OutgoingRecord[], consumer: Consumer, offsets: CommittedOffset[]): Promise<void> {
    if (!(consumer instanceof KafkajsConsumer)) throw new TallyError('KAFKA_BACKEND_UNAVAILABLE', 'a kafkajs transaction commits the offsets of a kafkajs consumer only');
    const producer = await this.ready();
    let transaction: Awaited<ReturnType<JsProducer['transaction']>> | undefined;
    try {
      // the first transaction of a producer registers its transactional id: an older producer with it is fenced and its open transaction aborted
      transaction = await producer.transaction();
      await sendAll(transaction, records, this.config, this.config.requestTimeoutMs, this.log);
      if (offsets.length) await transaction.sendOffsets({ consumerGroupId: consumer.groupId, topics: offsetTopics(offsets) });
      await transaction.commit();
    } catch (error) {
      const failure = toKafkaError(`transaction ${this.options.transactionalId} of ${records.length} record(s) and ${offsets.length} offset(s)`, error);
      if (transaction?.isActive()) await transaction.abort().catch(() => undefined);
      // always a new producer: an abort "succeeds" without a word to the broker when nothing was added to the
      // transaction yet, and a producer the broker fenced (its transaction timed out while the broker was
      // away: INVALID_PRODUCER_EPOCH) then failed every later transaction (seen for 10 minutes after a broker SIGKILL)
      await this.settle(failure);
      throw failure;
    }
  }

  /**
   * After any failed transaction (fenced, timed out, aborted, or a commit whose answer was lost and
   * which the coordinator may have committed): a new producer with the same id (next epoch) is
   * initialised now, because the coordinator
   * answers its InitProducerId only once the last transaction is complete in the log. The group's
   * offsets read after this are final; kafkajs cannot ask for stable offsets (KIP-447) itself.
   */
  private async settle(failure: TallyError): Promise<void> {
    await this.reset();
    try {
      await this.ready();
    } catch (error) {
      this.log.warn({ err: error, transactionalId: this.options.transactionalId }, `after a failed transaction (${failure.message}) the transactional producer could not be initialised again: ${messageOf(error)}; the offsets read next may predate that transaction if it committed`);
    }
  }

  private async reset(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    await old?.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.reset();
  }
}

function offsetTopics(offsets: CommittedOffset[]): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const { topic, partition, offset } of offsets) byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition, offset }]);
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

export async function kafkajsTransactionalProducer(client: Kafka, config: KafkaConfig, log: Logger, options: TransactionalProducerOptions): Promise<TransactionalProducer> {
  return new KafkajsTransactionalProducer(client, config, log, options);
}

/** How long a running, unpaused kafkajs consumer with no batch in hand may go without a fetch before it is replaced. */
const fetchStallMs = 60_000;
/**
 * kafkajs consumers given up by Tally (replaced or closed). kafkajs restarts a consumer that crashed
 * on a retriable error, so one replaced while the broker was away (its disconnect failed) came back
 * and joined the group again beside its successor; each such zombie rebalanced the group, and after a
 * broker SIGKILL the stage was seen holding lag for minutes with four members of its own.
 */
const retired = new WeakSet<JsConsumer>();

/** How long a transactional consumer being replaced waits for the batch in hand (its transaction) to end. */
const replaceWaitMs = 120_000;

/**
 * A kafkajs consumer behind the Consumer interface. The kafkajs consumer inside is replaced (a new
 * one joins the group and continues from the committed offsets) when kafkajs gives it up, when it
 * stops fetching, or when a commit fails after kafkajs's own retries: all three were seen after
 * broker restarts and leader moves, with the stage left holding lag it could not commit.
 */
class KafkajsConsumer extends ConsumerCore {
  private assigned: TopicPartition[] = [];
  private batchInProgress: Promise<void> | undefined;
  private replacing = false;
  private lastFetch = Date.now();
  private readonly stallTimer: NodeJS.Timeout;

  constructor(
    private consumer: JsConsumer,
    private readonly create: () => Promise<JsConsumer>,
    private readonly options: ConsumerOptions,
    private readonly heartbeatIntervalMs: number,
    private readonly client: Kafka,
    maxInFlight: number,
    commitIntervalMs: number,
  ) {
    super(maxInFlight, commitIntervalMs, options.transactional ?? false);
    this.listen(consumer);
    this.stallTimer = setInterval(() => this.checkFetching(), 5000);
    this.stallTimer.unref();
  }

  get groupId(): string {
    return this.options.groupId;
  }

  private listen(consumer: JsConsumer): void {
    const { GROUP_JOIN, CRASH, FETCH, END_BATCH_PROCESS } = consumer.events;
    // kafkajs hands no batch over whose records are all filtered out (a transaction's commit marker, aborted records): its offsets are passed all the same
    consumer.on(END_BATCH_PROCESS, ({ payload }) => {
      if (consumer !== this.consumer || payload.batchSize > 0 || this.closed) return;
      if (!this.assigned.some((a) => a.topic === payload.topic && a.partition === payload.partition)) return;
      this.passed(payload.topic, payload.partition, Number(payload.lastOffset));
    });
    consumer.on(GROUP_JOIN, ({ payload }) => {
      if (consumer !== this.consumer) return;
      const partitions = Object.entries(payload.memberAssignment).flatMap(([topic, list]) => list.map((partition) => ({ topic, partition })));
      const revoked = this.assigned.filter((a) => !partitions.some((p) => p.topic === a.topic && p.partition === a.partition));
      if (revoked.length) this.events.emit('revoked', revoked);
      this.assigned = partitions;
      this.lastFetch = Date.now();
      this.newGeneration(partitions);
      if (this.isPaused()) this.pausePartitions();
    });
    consumer.on(FETCH, () => {
      if (consumer === this.consumer) this.lastFetch = Date.now();
    });
    consumer.on(CRASH, ({ payload }) => {
      if (payload.restart || this.closed || consumer !== this.consumer) return;
      // kafkajs never restarts a consumer that crashed on an error it calls non-retriable, among them "Failed to find group coordinator" while a restarted broker loads its groups (tulios/kafkajs#1630, #1445)
      void this.replace(`kafkajs gave the consumer up: ${messageOf(payload.error)}`);
    });
  }

  /** No fetch for fetchStallMs while running, unpaused and with no batch in hand: kafkajs's runner is stuck (seen after a partition leader moved). */
  private checkFetching(): void {
    if (this.closed || this.replacing || !this.handler || this.batchInProgress || this.isPaused()) {
      this.lastFetch = Date.now();
      return;
    }
    if (Date.now() - this.lastFetch > fetchStallMs) void this.replace(`kafkajs has not fetched for ${Math.round((Date.now() - this.lastFetch) / 1000)} s`);
  }

  async run(handler: MessageHandler): Promise<void> {
    this.handler = handler;
    this.lastFetch = Date.now();
    await this.consumer.run(this.runConfigFor(this.consumer));
  }

  private runConfigFor(consumer: JsConsumer): ConsumerRunConfig {
    return {
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload) => {
        // a replaced consumer that wakes up again hands nothing over: its partitions belong to the new one
        if (consumer !== this.consumer) throw new TallyError('KAFKA_RETRIABLE', 'this kafkajs consumer was replaced');
        const work = this.eachBatch(payload);
        // kafkajs handles the batch's failure; this copy only tells stopFetching when it is over
        this.batchInProgress = work.then(
          () => undefined,
          () => undefined,
        ).finally(() => (this.batchInProgress = undefined));
        return work;
      },
    };
  }

  /**
   * A new kafkajs consumer in place of the current one, with backoff until it runs; the old one is
   * disconnected in the background (a stuck one may never finish). The new one joins the group and
   * continues from the committed offsets.
   */
  private async replace(reason: string): Promise<void> {
    if (this.replacing || this.closed) return;
    this.replacing = true;
    this.events.emit('error', new TallyError('KAFKA_RETRIABLE', `consumer group ${this.options.groupId}: ${reason}; Tally replaces the kafkajs consumer, which continues from the committed offsets`));
    const old = this.consumer;
    // a transaction in hand ends before a new member reads the committed offsets: one committed later would double its batch
    if (this.transactional) await Promise.race([this.batchInProgress, sleep(replaceWaitMs)]);
    retired.add(old);
    void Promise.race([old.disconnect(), sleep(30_000)]).catch(() => undefined);
    try {
      for (let attempt = 1; !this.closed; attempt += 1) {
        try {
          const fresh = await this.create();
          this.consumer = fresh;
          this.listen(fresh);
          this.lastFetch = Date.now();
          await fresh.run(this.runConfigFor(fresh));
          return;
        } catch (error) {
          this.events.emit('error', toKafkaError(`starting consumer group ${this.options.groupId} again (attempt ${attempt})`, error));
          await sleep(Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)));
        }
      }
    } finally {
      this.replacing = false;
    }
  }

  private async eachBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || this.closed) return;
    const generation = this.generation;
    // after a rejoin kafkajs may start below what our last transaction committed (its offset fetch has no require_stable)
    const fresh = batch.messages.filter((m) => !this.committedInOwnTransaction(batch.topic, batch.partition, Number(m.offset)));
    const messages: IncomingMessage[] = fresh.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key ?? null,
      value: m.value ?? null,
      headers: headersOf(m.headers),
      timestamp: Number(m.timestamp),
      generation,
    }));
    // hand over in slices that fit under maxInFlight, so a large fetch never overshoots the bound
    let start = 0;
    while (start < messages.length) {
      await this.belowPressure(() => this.heartbeatCommitting(heartbeat));
      if (!isRunning() || isStale() || this.closed || generation !== this.generation) return;
      const room = Math.max(1, Math.min(this.options.maxBatchMessages ?? Number.POSITIVE_INFINITY, this.maxInFlight - this.inFlight()));
      const slice = messages.slice(start, start + room);
      start += slice.length;
      this.track(slice);
      await this.handOver(slice, heartbeat);
    }
    // a commit marker after the last record: the committed offset may step over it
    const last = messages[messages.length - 1];
    if (last && Number(batch.lastOffset()) > Number(last.offset) && generation === this.generation && !isStale()) this.passed(batch.topic, batch.partition, Number(batch.lastOffset()));
    await this.belowPressure(() => this.heartbeatCommitting(heartbeat));
  }

  /**
   * kafkajs heartbeats only between batches: a handler that waits longer than the session timeout
   * (Elasticsearch slow, Kafka away) would have the member evicted, and kafkajs cannot rejoin while
   * the batch is in hand, so even the work already done could not be committed until the handler
   * returned. Heartbeats go on while the handler runs; one that finds the member rebalanced or
   * evicted stops the wait with that error (the batch is not resolved, kafkajs rejoins and delivers
   * it again from the committed offsets). The handler left behind finishes on its own; what it marks
   * done belongs to the old generation and is ignored.
   */
  private async handOver(slice: IncomingMessage[], heartbeat: () => Promise<void>): Promise<void> {
    let ticker: NodeJS.Timeout | undefined;
    const regrouped = new Promise<never>((_, reject) => {
      ticker = setInterval(() => {
        heartbeat().catch((error: unknown) => {
          if (rejoinTypes.has((error as { type?: string }).type ?? '')) reject(error);
        });
      }, this.heartbeatIntervalMs);
    });
    const handled = Promise.resolve(this.handler?.(slice));
    try {
      await Promise.race([handled, regrouped]);
    } catch (error) {
      if (!rejoinTypes.has((error as { type?: string }).type ?? '')) throw error;
      // a transaction in hand ends (committed or aborted) before the member rejoins: the broker
      // does not fence a kafkajs transaction by generation, so one committed after the partitions
      // moved would double their records
      if (this.transactional) await handled.catch(() => undefined);
      else await this.commit().catch(() => undefined);
      throw error;
    } finally {
      clearInterval(ticker);
      regrouped.catch(() => undefined);
    }
  }

  /** A heartbeat that finds the group rebalancing commits done work before kafkajs rejoins. */
  private async heartbeatCommitting(heartbeat: () => Promise<void>): Promise<void> {
    try {
      await heartbeat();
    } catch (error) {
      await this.commit().catch(() => undefined);
      throw error;
    }
  }

  assignment(): TopicPartition[] {
    return [...this.assigned];
  }

  protected async commitPoints(points: CommitPoint[]): Promise<void> {
    const consumer = this.consumer;
    try {
      await consumer.commitOffsets(points.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.offset) })));
    } catch (error) {
      const failure = toKafkaError(`committing offsets of group ${this.options.groupId}`, error);
      // kafkajs already retried this commit (about 40 s) against the coordinator and brokers it knew when it
      // joined; after a leader move it goes on asking the old ones (NOT_COORDINATOR, "Broker n not found in
      // the cached metadata") while it still fetches, so the stage moves but never commits. A fresh consumer
      // finds the current coordinator and continues from the last committed offsets.
      // A rebalance's own errors are left to kafkajs's runner, which rejoins on them: replacing would only rebalance again.
      if (consumer === this.consumer && !rebalanceTypes.has(kafkaErrorName(error) ?? '')) void this.replace(`a commit failed after kafkajs's retries (${failure.message})`);
      throw failure;
    }
  }

  protected async seekToCommitted(): Promise<void> {
    const assigned = this.assignment();
    if (assigned.length === 0) return;
    const admin = this.client.admin();
    try {
      await admin.connect();
      const topics = [...new Set(assigned.map((a) => a.topic))];
      const committed = await admin.fetchOffsets({ groupId: this.options.groupId, topics });
      for (const topic of topics) {
        const own = committed.find((c) => c.topic === topic)?.partitions ?? [];
        const bounds = own.some((p) => Number(p.offset) < 0) ? await admin.fetchTopicOffsets(topic) : [];
        for (const { partition } of assigned.filter((a) => a.topic === topic)) {
          const offset = own.find((p) => p.partition === partition)?.offset ?? '-1';
          const bound = bounds.find((b) => b.partition === partition);
          const start = Number(offset) >= 0 ? offset : this.options.fromBeginning === false ? bound?.high : bound?.low;
          if (start !== undefined) this.consumer.seek({ topic, partition, offset: start });
        }
      }
    } catch (error) {
      throw toKafkaError(`reading the committed offsets of group ${this.options.groupId}`, error);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  protected pausePartitions(): void {
    this.consumer.pause(this.options.topics.map((topic) => ({ topic })));
  }

  protected resumePartitions(): void {
    this.consumer.resume(this.options.topics.map((topic) => ({ topic })));
  }

  protected async stopFetching(): Promise<void> {
    this.pausePartitions();
    await this.batchInProgress;
  }

  protected async shutdown(): Promise<void> {
    clearInterval(this.stallTimer);
    retired.add(this.consumer);
    await this.consumer.disconnect();
  }
}

/** errors of a group that is rebalancing or has moved on without this member */
const rebalanceTypes = new Set(['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION']);
/** kafkajs errors after which the member must join the group again (kafkajs's own runner rejoins on them) */
const rejoinTypes = new Set([...rebalanceTypes, 'NOT_COORDINATOR_FOR_GROUP']);

function headersOf(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const single = Array.isArray(value) ? value[value.length - 1] : value;
    if (single !== undefined) out[name] = Buffer.isBuffer(single) ? single : Buffer.from(single);
  }
  return out;
}

export async function kafkajsConsumer(client: Kafka, config: KafkaConfig, options: ConsumerOptions): Promise<KafkajsConsumer> {
  const heartbeatInterval = Math.min(3000, Math.floor(config.sessionTimeoutMs / 3));
  const create = async (): Promise<JsConsumer> => {
    const consumer = client.consumer({
      groupId: options.groupId,
      sessionTimeout: config.sessionTimeoutMs,
      rebalanceTimeout: Math.max(config.sessionTimeoutMs, 30_000),
      heartbeatInterval,
      allowAutoTopicCreation: true,
      // only committed transactions' records; never an aborted one (the transform's replays)
      readUncommitted: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      // bounded: kafkajs retries a commit against the coordinator it joined with, which a leader move leaves answering NOT_COORDINATOR for ever; once the retries are spent the consumer is replaced (commitPoints) and the new one finds the current coordinator
      // a replaced (retired) consumer that crashes stays down: restarted by kafkajs it would rejoin the group beside its successor
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000, restartOnFailure: async () => !retired.has(consumer) },
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw toKafkaError(`starting consumer group ${options.groupId}`, error);
    }
    return consumer;
  };
  return new KafkajsConsumer(await create(), create, options, heartbeatInterval, client, options.maxInFlight ?? config.maxInFlight, options.commitIntervalMs ?? config.commitIntervalMs);
}
