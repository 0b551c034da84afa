import kafkajs from 'kafkajs';
import type { Consumer as JsConsumer, EachBatchPayload, Kafka, Producer as JsProducer, SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { ConsumerCore } from './consumer-core.js';
import { toKafkaError } from './kafka-errors.js';
import type { CommitPoint } from './offsets.js';
import { readOptional, saslPassword } from './security.js';
import type { ConsumerOptions, IncomingMessage, MessageHandler, OutgoingRecord, Producer, ProducerOptions, TopicPartition } from './types.js';

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
  const password = saslPassword(config);
  const ssl = config.ssl?.enabled
    ? { rejectUnauthorized: config.ssl.rejectUnauthorized, ca: readOptional(config.ssl.caFile), cert: readOptional(config.ssl.certFile), key: readOptional(config.ssl.keyFile) }
    : undefined;
  return new kafkajs.Kafka({
    clientId: `${config.clientId}${clientSuffix}`,
    brokers: config.brokers,
    connectionTimeout: Math.min(config.requestTimeoutMs, 10_000),
    requestTimeout: config.requestTimeoutMs,
    logLevel: kafkajs.logLevel.WARN,
    logCreator: logCreator(log.child({ component: 'kafkajs' })),
    ...(ssl ? { ssl } : {}),
    ...(config.sasl ? { sasl: { mechanism: config.sasl.mechanism, username: config.sasl.username, password: password ?? '' } as SASLOptions } : {}),
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
  ) {}

  async send(records: OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.suspect) {
      await this.producer.disconnect().catch(() => undefined);
      this.producer = await this.connect();
      this.suspect = false;
    }
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (const record of records) {
      const list = byTopic.get(record.topic);
      if (list) list.push(record);
      else byTopic.set(record.topic, [record]);
    }
    const chunk = this.config.batchMaxMessages;
    const topicMessages: { topic: string; messages: { key?: string | Buffer | null; value: string | Buffer | null; headers?: Record<string, string>; partition?: number; timestamp?: string }[] }[] = [];
    for (const [topic, list] of byTopic) {
      topicMessages.push({
        topic,
        messages: list.map((r) => ({
          key: r.key ?? null,
          value: r.value,
          ...(r.headers ? { headers: r.headers } : {}),
          ...(r.partition !== undefined ? { partition: r.partition } : {}),
          ...(r.timestamp !== undefined ? { timestamp: String(r.timestamp) } : {}),
        })),
      });
    }
    try {
      // one request per broker per call; very large calls are split so no request exceeds the batch limit
      const total = records.length;
      if (total <= chunk) {
        await this.producer.sendBatch({ topicMessages, acks: -1, timeout: this.timeoutMs, compression: compressionCodes[this.config.compression] });
        return;
      }
      for (const { topic, messages } of topicMessages) {
        for (let i = 0; i < messages.length; i += chunk) {
          await this.producer.sendBatch({ topicMessages: [{ topic, messages: messages.slice(i, i + chunk) }], acks: -1, timeout: this.timeoutMs, compression: compressionCodes[this.config.compression] });
        }
      }
    } catch (error) {
      this.suspect = true;
      throw toKafkaError(`producing ${records.length} record(s) to ${[...byTopic.keys()].join(', ')}`, error);
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

export async function kafkajsProducer(client: Kafka, config: KafkaConfig, options: ProducerOptions = {}): Promise<Producer> {
  const retries = options.retries ?? config.produceRetries;
  const connect = async (): Promise<JsProducer> => {
    const producer = client.producer({
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
  return new KafkajsProducer(await connect(), connect, config, options.timeoutMs ?? config.requestTimeoutMs);
}

class KafkajsConsumer extends ConsumerCore {
  private assigned: TopicPartition[] = [];
  private batchInProgress: Promise<void> | undefined;

  constructor(
    private readonly consumer: JsConsumer,
    private readonly options: ConsumerOptions,
    maxInFlight: number,
    commitIntervalMs: number,
  ) {
    super(maxInFlight, commitIntervalMs);
    const { GROUP_JOIN, CRASH } = consumer.events;
    consumer.on(GROUP_JOIN, ({ payload }) => {
      const partitions = Object.entries(payload.memberAssignment).flatMap(([topic, list]) => list.map((partition) => ({ topic, partition })));
      const revoked = this.assigned.filter((a) => !partitions.some((p) => p.topic === a.topic && p.partition === a.partition));
      if (revoked.length) this.events.emit('revoked', revoked);
      this.assigned = partitions;
      this.newGeneration(partitions);
      if (this.isPaused()) this.pausePartitions();
    });
    consumer.on(CRASH, ({ payload }) => {
      if (!payload.restart) this.events.emit('error', toKafkaError(`consumer ${options.groupId}`, payload.error));
    });
  }

  async run(handler: MessageHandler): Promise<void> {
    this.handler = handler;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => {
        const work = this.eachBatch(payload);
        this.batchInProgress = work.finally(() => (this.batchInProgress = undefined));
        return work;
      },
    });
  }

  private async eachBatch({ batch, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || this.closed) return;
    const generation = this.generation;
    const messages: IncomingMessage[] = batch.messages.map((m) => ({
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
      const room = Math.max(1, this.maxInFlight - this.inFlight());
      const slice = messages.slice(start, start + room);
      start += slice.length;
      this.track(slice);
      await this.handler?.(slice);
    }
    await this.belowPressure(() => this.heartbeatCommitting(heartbeat));
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
    try {
      await this.consumer.commitOffsets(points.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.offset) })));
    } catch (error) {
      throw toKafkaError(`committing offsets of group ${this.options.groupId}`, error);
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
    await this.consumer.disconnect();
  }
}

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
  const consumer = client.consumer({
    groupId: options.groupId,
    sessionTimeout: config.sessionTimeoutMs,
    rebalanceTimeout: Math.max(config.sessionTimeoutMs, 30_000),
    heartbeatInterval: Math.min(3000, Math.floor(config.sessionTimeoutMs / 3)),
    allowAutoTopicCreation: true,
    maxBytesPerPartition: 4 * 1024 * 1024,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true });
  } catch (error) {
    throw toKafkaError(`starting consumer group ${options.groupId}`, error);
  }
  return new KafkajsConsumer(consumer, options, options.maxInFlight ?? config.maxInFlight, options.commitIntervalMs ?? config.commitIntervalMs);
}
