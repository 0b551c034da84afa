import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as Rd from 'node-rdkafka';
import type { KafkaConfig } from '../config/types.js';
import { TallyError } from '../errors.js';
import type { Logger } from '../log.js';
import { ConsumerCore } from './consumer-core.js';
import { toKafkaError } from './kafka-errors.js';
import { abandonedNativeCalls, isAbandonedCall, withNativeDeadline } from './native-calls.js';
import type { CommitPoint } from './offsets.js';
import { rdkafkaSecurity } from './security.js';
import type { CommittedOffset, Consumer, ConsumerOptions, IncomingMessage, MessageHandler, OutgoingRecord, Producer, ProducerOptions, TopicPartition, TransactionalProducer, TransactionalProducerOptions } from './types.js';

type RdModule = typeof Rd;

/** how much longer than its own timeout a librdkafka call may take before it counts as never returning */
const nativeGraceMs = 15_000;
let loaded: RdModule | undefined;

/** node-rdkafka is a native addon: load it only when the rdkafka backend is chosen. */
export function loadRdkafka(): RdModule {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('node-rdkafka') as RdModule;
    return loaded;
  } catch (error) {
    throw new TallyError('KAFKA_BACKEND_UNAVAILABLE', `the rdkafka backend needs the native node-rdkafka addon, which did not load: ${(error as Error).message}. Rebuild it (npm rebuild node-rdkafka) or use kafka.backend=kafkajs.`, { cause: error });
  }
}

function commonConfig(config: KafkaConfig, clientSuffix: string): Record<string, string | number | boolean> {
  return {
    'client.id': `${config.clientId}${clientSuffix}`,
    'metadata.broker.list': config.brokers.join(','),
    'socket.keepalive.enable': true,
    'allow.auto.create.topics': true,
    ...rdkafkaSecurity(config),
  };
}

interface Pending {
  remaining: number;
  failed: unknown;
  resolve: () => void;
  reject: (error: unknown) => void;
}

class RdkafkaProducer implements Producer {
  /** set by close(): a send waiting for room in the local queue must not produce into a handle being destroyed */
  private closing = false;

  constructor(
    private readonly producer: Rd.Producer,
    private readonly rd: RdModule,
  ) {
    producer.on('delivery-report', (error, report) => {
      const pending = report.opaque as Pending | undefined;
      if (!pending) return;
      if (error && pending.failed === undefined) pending.failed = error;
      pending.remaining -= 1;
      if (pending.remaining === 0) {
        if (pending.failed === undefined) pending.resolve();
        else pending.reject(pending.failed);
      }
    });
  }

  async send(records: OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    const done = new Promise<void>((resolve, reject) => {
      const pending: Pending = { remaining: records.length, failed: undefined, resolve, reject };
      void this.enqueue(records, pending).catch((error: unknown) => {
        // records that never reached the local queue will get no delivery report
        pending.failed ??= error;
        reject(error);
      });
    });
    try {
      await done;
    } catch (error) {
      throw toKafkaError(`producing ${records.length} record(s) to ${[...new Set(records.map((r) => r.topic))].join(', ')}`, error);
    }
  }

  /** headers objects a stage shares between records (the transform's) are converted once */
  private readonly converted = new WeakMap<Record<string, string>, Rd.MessageHeader[]>();

  private headersFor(headers: Record<string, string>): Rd.MessageHeader[] {
    let list = this.converted.get(headers);
    if (!list) {
      list = Object.entries(headers).map(([k, v]) => ({ [k]: v }));
      if (Object.isFrozen(headers)) this.converted.set(headers, list);
    }
    return list;
  }

  private async enqueue(records: OutgoingRecord[], pending: Pending): Promise<void> {
    for (const record of records) {
      const headers = record.headers ? this.headersFor(record.headers) : undefined;
      const value = record.value === null ? null : Buffer.isBuffer(record.value) ? record.value : Buffer.from(record.value);
      for (;;) {
        try {
          this.producer.produce(record.topic, record.partition ?? null, value, record.key ?? null, record.timestamp ?? Date.now(), pending, headers);
          break;
        } catch (error) {
          if ((error as { code?: number }).code !== this.rd.CODES.ERRORS.ERR__QUEUE_FULL) throw error;
          this.producer.poll();
          await sleep(5);
          if (this.closing) throw new Error('the producer was closed while this send waited for room in its local queue');
        }
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await disconnectProducer(this.producer, 10_000);
  }
}

/**
 * Flush, stop the poll timer, then disconnect. node-rdkafka's disconnect destroys the handle on a
 * worker thread while its setPollInterval timer goes on polling it from the main thread: a transform
 * whose transactional producer was replaced after a failed transaction hung for good in
 * rd_kafka_poll on a queue being freed (its event loop blocked, /readyz and SIGTERM unanswered).
 */
export async function disconnectProducer(producer: Rd.Producer, flushMs: number): Promise<void> {
  await new Promise<void>((resolve) => producer.flush(flushMs, () => resolve()));
  producer.setPollInterval(0);
  await new Promise<void>((resolve) => producer.disconnect(0, () => resolve()));
}

/** A connected native producer: idempotent, acks=all, polled for delivery reports; `extra` adds a transactional id. */
async function connectedProducer(config: KafkaConfig, log: Logger, timeoutMs: number, extra: Record<string, string | number> = {}): Promise<Rd.Producer> {
  const rd = loadRdkafka();
  const producer = new rd.Producer({
    ...commonConfig(config, '-producer'),
    ...extra,
    dr_cb: true,
    'enable.idempotence': true,
    'linger.ms': config.lingerMs,
    'batch.num.messages': config.batchMaxMessages,
    'batch.size': config.batchMaxBytes,
    'compression.codec': config.compression === 'zstd' ? 'lz4' : config.compression,
    'request.timeout.ms': Math.min(timeoutMs, 30_000),
    'retry.backoff.ms': 200,
    'queue.buffering.max.messages': 200_000,
  } as Rd.ProducerGlobalConfig,
  // topic-level properties: set in the global config they are silently ignored (message.timeout.ms would stay 300 s)
  { 'request.required.acks': -1, 'message.timeout.ms': timeoutMs });
  producer.on('event.error', (error) => log.warn({ err: error }, 'rdkafka producer error'));
  await new Promise<void>((resolve, reject) => {
    producer.connect({ timeout: Math.min(timeoutMs, 10_000) }, (error) => (error ? reject(toKafkaError('connecting the producer', error)) : resolve()));
  });
  producer.setPollInterval(20);
  return producer;
}

export async function rdkafkaProducer(config: KafkaConfig, log: Logger, options: ProducerOptions = {}): Promise<Producer> {
  return new RdkafkaProducer(await connectedProducer(config, log, options.timeoutMs ?? config.requestTimeoutMs), loadRdkafka());
}

/** A node-rdkafka callback as a promise. */
function called(act: (cb: (error: Rd.LibrdKafkaError | null | undefined) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => act((error) => (error ? reject(error) : resolve())));
}

/**
 * librdkafka transactions. sendOffsetsToTransaction passes the consumer's group metadata (member
 * id and generation, KIP-447): the group coordinator refuses the offsets of a member that lost its
 * partitions in a rebalance, and the whole transaction is aborted.
 */
class RdkafkaTransactionalProducer implements TransactionalProducer {
  private current: { native: Rd.Producer; sender: RdkafkaProducer } | undefined;

  constructor(
    private readonly config: KafkaConfig,
    private readonly log: Logger,
    private readonly options: TransactionalProducerOptions,
  ) {}

  get transactionalId(): string {
    return this.options.transactionalId;
  }

  /** initTransactions fences an older producer with this transactional id and aborts its open transaction */
  private async ready(): Promise<{ native: Rd.Producer; sender: RdkafkaProducer }> {
    if (this.current) return this.current;
    // librdkafka wants every message delivered (or failed) within the transaction's timeout
    const timeoutMs = Math.min(this.config.requestTimeoutMs, this.options.transactionTimeoutMs);
    const native = await connectedProducer(this.config, this.log, timeoutMs, { 'transactional.id': this.options.transactionalId, 'transaction.timeout.ms': this.options.transactionTimeoutMs });
    try {
      await withNativeDeadline(`initTransactions of ${this.options.transactionalId}`, timeoutMs + nativeGraceMs, called((cb) => native.initTransactions(timeoutMs, cb)));
    } catch (error) {
      if (isAbandonedCall(error)) native.setPollInterval(0);
      else await disconnectProducer(native, 0);
      throw toKafkaError(`initialising transactions of ${this.options.transactionalId}`, error);
    }
    this.current = { native, sender: new RdkafkaProducer(native, loadRdkafka()) };
    return this.current;
  }

  async transact(records: OutgoingRecord[], consumer: Consumer, offsets: CommittedOffset[]): Promise<void> {
    if (!(consumer instanceof RdkafkaConsumer)) throw new TallyError('KAFKA_BACKEND_UNAVAILABLE', 'an rdkafka transaction commits the offsets of an rdkafka consumer only');
    const { native, sender } = await this.ready();
    const timeoutMs = this.config.requestTimeoutMs;
    const id = this.options.transactionalId;
    const bounded = (what: string, act: (cb: (error: Rd.LibrdKafkaError | null | undefined) => void) => void): Promise<void> => withNativeDeadline(`${what} of ${id}`, timeoutMs + nativeGraceMs, called(act));
    let begun = false;
    try {
      await called((cb) => native.beginTransaction(cb));
      begun = true;
      await sender.send(records);
      if (offsets.length) await bounded('sendOffsetsToTransaction', (cb) => native.sendOffsetsToTransaction(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset) })), consumer.native, timeoutMs, cb));
      await bounded('commitTransaction', (cb) => native.commitTransaction(timeoutMs, cb));
    } catch (error) {
      const failure = toKafkaError(`transaction ${id} of ${records.length} record(s) and ${offsets.length} offset(s)`, error);
      let stuck = isAbandonedCall(error);
      const fatal = (error as Rd.LibrdKafkaError).isFatal === true;
      const aborted =
        begun && !fatal && !stuck
          ? await bounded('abortTransaction', (cb) => native.abortTransaction(timeoutMs, cb)).then(
              () => true,
              (abortError: unknown) => {
                stuck = isAbandonedCall(abortError);
                return false;
              },
            )
          : false;
      // fenced, in a fatal state or stuck in a call: the next transaction starts on a new producer (same id, next epoch, which fences this one)
      if (stuck) this.abandon();
      else if (!aborted) await this.reset();
      throw failure;
    }
  }

  /** A producer with a native call that never returns cannot be destroyed (the destroy waits for the call): it is dropped, and the next one fences it. */
  private abandon(): void {
    const old = this.current;
    this.current = undefined;
    old?.native.setPollInterval(0);
    this.log.error({ transactionalId: this.options.transactionalId, abandonedNativeCalls: abandonedNativeCalls() }, 'a librdkafka transaction call never returned: its producer is dropped without being destroyed, and a new producer with the same transactional id fences it');
  }

  private async reset(): Promise<void> {
    const old = this.current;
    this.current = undefined;
    if (old) await disconnectProducer(old.native, 0);
  }

  async close(): Promise<void> {
    await this.reset();
  }
}

export async function rdkafkaTransactionalProducer(config: KafkaConfig, log: Logger, options: TransactionalProducerOptions): Promise<TransactionalProducer> {
  loadRdkafka();
  return new RdkafkaTransactionalProducer(config, log, options);
}

class RdkafkaConsumer extends ConsumerCore {
  private consuming: Promise<void> | undefined;
  private stopping = false;
  private crashing = false;
  private commitWaiter: { resolve: () => void; reject: (e: unknown) => void } | undefined;

  constructor(
    private readonly consumer: Rd.KafkaConsumer,
    private readonly rd: RdModule,
    private readonly options: ConsumerOptions,
    private readonly log: Logger,
    maxInFlight: number,
    commitIntervalMs: number,
  ) {
    super(maxInFlight, commitIntervalMs, options.transactional ?? false);
    this.pausesUnderPressure = false;
    consumer.on('offset.commit', (error) => {
      const waiter = this.commitWaiter;
      this.commitWaiter = undefined;
      if (!waiter) return;
      if (error) waiter.reject(error);
      else waiter.resolve();
    });
  }

  /** rebalance_cb: commit done work before giving partitions up, start a new generation on assignment. */
  onRebalance(error: Rd.LibrdKafkaError, assignment: Rd.Assignment[]): void {
    const partitions = assignment.map((a) => ({ topic: a.topic, partition: a.partition }));
    if (error.code === this.rd.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      this.consumer.assign(assignment);
      this.newGeneration(partitions);
      if (this.isPaused()) this.pausePartitions();
    } else if (error.code === this.rd.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
      // a transactional consumer's offsets are committed by its transactions alone
      if (!this.crashing && !this.transactional) {
        const points = this.ledger.takeCommittable();
        if (points.length) {
          try {
            this.consumer.commitSync(points.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })));
            this.ledger.markCommitted(points);
            this.events.emit('committed', points.map((p) => ({ ...p, offset: String(p.offset) })));
          } catch (commitError) {
            this.log.warn({ err: commitError }, 'commit on revoke failed; that work will be redelivered');
          }
        }
      }
      this.events.emit('revoked', partitions);
      this.consumer.unassign();
    } else {
      this.events.emit('error', toKafkaError('rebalance', error));
    }
  }

  async run(handler: MessageHandler): Promise<void> {
    this.handler = handler;
    this.consumer.subscribe(this.options.topics);
    this.consuming = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      // over the in-flight bound: wait for room, keeping what librdkafka fetched; past a quarter second pause for real, since consume() must go on serving librdkafka's callbacks (commits, rebalances)
      if (!(await this.waitForRoom(250))) this.pauseForLongPressure();
      if (this.stopping) break;
      const messages = await new Promise<Rd.Message[]>((resolve) => {
        const room = Math.max(1, Math.min(this.options.maxBatchMessages ?? 1000, this.maxInFlight - this.inFlight()));
        this.consumer.consume(room, (error, batch) => {
          if (error) {
            this.events.emit('error', toKafkaError(`consuming for group ${this.options.groupId}`, error));
            resolve([]);
          } else resolve(batch);
        });
      });
      if (messages.length === 0 || this.stopping) {
        if (messages.length === 0) this.stepOverMarkers();
        continue;
      }
      const generation = this.generation;
      // librdkafka reads stable offsets (KIP-447) after a rejoin; a rewind's committed() may still meet an older one
      const incoming: IncomingMessage[] = messages.filter((m) => !this.committedInOwnTransaction(m.topic, m.partition, m.offset)).map((m) => ({
        topic: m.topic,
        partition: m.partition,
        offset: String(m.offset),
        key: m.key === undefined || m.key === null ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(m.key),
        value: m.value ?? null,
        headers: headersOf(m.headers),
        timestamp: m.timestamp ?? 0,
        generation,
      }));
      if (incoming.length === 0) continue;
      this.track(incoming);
      try {
        await this.handler?.(incoming);
      } catch (error) {
        this.events.emit('error', error);
      }
      if (generation === this.generation) this.stepOverMarkers();
    }
  }

  /** the native consumer, whose group metadata a transaction carries */
  get native(): Rd.KafkaConsumer {
    return this.consumer;
  }

  /**
   * librdkafka never hands a transaction's commit marker to the application; its position steps
   * over it. The position of a partition with deliveries in this generation counts as passed.
   */
  private stepOverMarkers(): void {
    const assigned = this.assignment();
    if (assigned.length === 0) return;
    let positions: Rd.TopicPartitionOffset[];
    try {
      positions = this.consumer.position(assigned);
    } catch {
      return;
    }
    for (const p of positions) if (p.offset > 0) this.passed(p.topic, p.partition, p.offset - 1, true);
  }

  protected async seekToCommitted(): Promise<void> {
    const assigned = this.assignment();
    if (assigned.length === 0) return;
    try {
      const committed = await new Promise<Rd.TopicPartitionOffset[]>((resolve, reject) => this.consumer.committed(assigned, 10_000, (error, offsets) => (error ? reject(error) : resolve(offsets))));
      for (const tp of committed) {
        // librdkafka's logical offsets: -2 the beginning, -1 the end
        const offset = tp.offset >= 0 ? tp.offset : this.options.fromBeginning === false ? -1 : -2;
        await called((cb) => this.consumer.seek({ topic: tp.topic, partition: tp.partition, offset }, 10_000, cb));
      }
    } catch (error) {
      throw toKafkaError(`positioning group ${this.options.groupId} at its committed offsets`, error);
    }
  }

  assignment(): TopicPartition[] {
    try {
      return this.consumer.assignments().map((a) => ({ topic: a.topic, partition: a.partition }));
    } catch {
      return [];
    }
  }

  protected async commitPoints(points: CommitPoint[]): Promise<void> {
    const acknowledged = new Promise<void>((resolve, reject) => (this.commitWaiter = { resolve, reject }));
    try {
      this.consumer.commit(points.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })));
      await acknowledged;
    } catch (error) {
      this.commitWaiter = undefined;
      throw toKafkaError(`committing offsets of group ${this.options.groupId}`, error);
    }
  }

  protected pausePartitions(): void {
    const assigned = this.assignment();
    if (assigned.length) this.whileAssigned('pause', () => this.consumer.pause(assigned));
  }

  protected resumePartitions(): void {
    const assigned = this.assignment();
    if (assigned.length) this.whileAssigned('resume', () => this.consumer.resume(assigned));
  }

  /** librdkafka throws "Local: Erroneous state" for partitions a rebalance just took away; the next assignment sets pause state anew. */
  private whileAssigned(what: string, act: () => void): void {
    try {
      act();
    } catch (error) {
      this.log.debug({ err: error }, `${what} skipped: the partitions are being reassigned`);
    }
  }

  protected async stopFetching(): Promise<void> {
    this.pausePartitions();
    // keep polling until a pending commit is acknowledged: callbacks are served by consume()
  }

  override async close(options: { commit?: boolean } = {}): Promise<void> {
    if (options.commit === false) this.crashing = true;
    await super.close(options);
  }

  protected async shutdown(): Promise<void> {
    this.stopping = true;
    await this.consuming;
    await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
  }
}

function headersOf(headers: Rd.MessageHeader[] | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const header of headers ?? []) {
    for (const [name, value] of Object.entries(header)) out[name] = Buffer.isBuffer(value) ? value : Buffer.from(String(value));
  }
  return out;
}

export async function rdkafkaConsumer(config: KafkaConfig, log: Logger, options: ConsumerOptions): Promise<RdkafkaConsumer> {
  const rd = loadRdkafka();
  let instance: RdkafkaConsumer | undefined;
  const consumer = new rd.KafkaConsumer(
    {
      ...commonConfig(config, '-consumer'),
      'group.id': options.groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'partition.assignment.strategy': 'range,roundrobin',
      'session.timeout.ms': config.sessionTimeoutMs,
      'heartbeat.interval.ms': Math.min(3000, Math.floor(config.sessionTimeoutMs / 3)),
      'max.poll.interval.ms': 300_000,
      'offset_commit_cb': true,
      // only committed transactions' records; never an aborted one (the transform's replays)
      'isolation.level': 'read_committed',
      'rebalance_cb': (error: Rd.LibrdKafkaError, assignment: Rd.Assignment[]) => instance?.onRebalance(error, assignment),
      'topic.metadata.refresh.interval.ms': 5000,
    } as Rd.ConsumerGlobalConfig,
    { 'auto.offset.reset': options.fromBeginning === false ? 'latest' : 'earliest' },
  );
  consumer.on('event.error', (error) => log.warn({ err: error }, 'rdkafka consumer error'));
  await new Promise<void>((resolve, reject) => {
    consumer.connect({ timeout: 10_000 }, (error) => (error ? reject(toKafkaError(`starting consumer group ${options.groupId}`, error)) : resolve()));
  });
  consumer.setDefaultConsumeTimeout(100);
  instance = new RdkafkaConsumer(consumer, rd, options, log, options.maxInFlight ?? config.maxInFlight, options.commitIntervalMs ?? config.commitIntervalMs);
  return instance;
}
