import type { Bus, IncomingMessage, OutgoingRecord, Producer } from '../bus/types.js';
import type { TopicsConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { normaliserFor } from '../normalise/index.js';
import type { Normaliser } from '../normalise/types.js';
import { startConsumerStage, type RunningStage } from '../runtime/consumer-stage.js';
import { deadLetterTopic, ensureTopics, kindOfRawTopic, rawTopic } from '../topics.js';
import { transformMessage } from './transform-message.js';

export interface TransformOptions {
  bus: Bus;
  log: Logger;
  groupId: string;
  kinds: string[];
  topics: TopicsConfig;
  /** raw messages whose outputs go to Kafka in one send */
  maxBatchMessages: number;
  fromBeginning?: boolean;
}

export interface KindCounters {
  /** raw messages read */
  in: number;
  /** records produced to domain topics */
  out: number;
  /** dead letters produced (a message may yield several, or records and dead letters both) */
  rejected: number;
  /** raw messages without a value (tombstones), skipped */
  empty: number;
}

export interface TransformStage extends RunningStage {
  stats(): Record<string, KindCounters>;
}

/**
 * `tally transform`: raw.<kind> → Avro domain topics and dlq.<kind>. A batch is done (and its
 * offsets may be committed) only after Kafka acknowledged every record and dead letter it caused;
 * a failed send retries the whole batch, and the deterministic record ids make the repeat harmless.
 */
export async function startTransform(options: TransformOptions): Promise<TransformStage> {
  const { bus, log } = options;
  const normalisers = new Map<string, Normaliser>(options.kinds.map((kind) => [kind, normaliserFor(kind)]));
  const counters = new Map<string, KindCounters>(options.kinds.map((kind) => [kind, { in: 0, out: 0, rejected: 0, empty: 0 }]));
  const logical = options.kinds.flatMap((kind) => [rawTopic(kind), deadLetterTopic(kind), ...(normalisers.get(kind)?.topics ?? [])]);
  await ensureTopics(bus, options.topics, logical);
  const producer: Producer = await bus.producer();

  const handle = async (messages: IncomingMessage[]): Promise<void> => {
    const pending = new Map<string, KindCounters>();
    let outgoing: OutgoingRecord[] = [];
    const flush = async (): Promise<void> => {
      if (outgoing.length) await producer.send(outgoing);
      outgoing = [];
    };
    for (const message of messages) {
      const kind = kindOfRawTopic(bus, message.topic);
      const normaliser = kind === undefined ? undefined : normalisers.get(kind);
      if (kind === undefined || normaliser === undefined) continue;
      const count = pending.get(kind) ?? { in: 0, out: 0, rejected: 0, empty: 0 };
      pending.set(kind, count);
      count.in += 1;
      if (message.value === null) {
        count.empty += 1;
        continue;
      }
      const { records, deadLetters } = transformMessage(message, kind, normaliser, bus.topic);
      count.out += records.length;
      count.rejected += deadLetters.length;
      outgoing.push(...records, ...deadLetters);
      if (outgoing.length >= options.maxBatchMessages) await flush();
    }
    await flush();
    // counted once the batch is durable, so a retried batch is not counted twice
    for (const [kind, count] of pending) {
      const total = counters.get(kind);
      if (!total) continue;
      total.in += count.in;
      total.out += count.out;
      total.rejected += count.rejected;
      total.empty += count.empty;
      if (count.rejected) log.warn({ kind, rejected: count.rejected, topic: bus.topic(deadLetterTopic(kind)) }, `rejected ${count.rejected} ${kind} input(s); the reasons are in ${bus.topic(deadLetterTopic(kind))}`);
    }
  };

  const stage = await startConsumerStage({ bus, log, groupId: options.groupId, topics: options.kinds.map((kind) => bus.topic(rawTopic(kind))), fromBeginning: options.fromBeginning ?? true, handle });
  log.info({ kinds: options.kinds, groupId: options.groupId }, 'transform running');
  return {
    consumer: stage.consumer,
    stats: () => Object.fromEntries([...counters].map(([kind, c]) => [kind, { ...c }])),
    async stop() {
      await stage.stop();
      await producer.close();
    },
  };
}
