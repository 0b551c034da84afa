import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordBytes } from '../bus/record-size.js';
import type { Bus, Consumer, IncomingMessage, OutgoingRecord, Producer, TransactionalProducer } from '../bus/types.js';
import type { KafkaConfig, TopicsConfig, TransformConfig } from '../config/types.js';
import { deadLetterRecord } from '../dlq.js';
import { isTallyError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { normaliserFor } from '../normalise/index.js';
import type { JoinedLines, LineJoiner, Normaliser } from '../normalise/types.js';
import { startConsumerStage, type RunningStage } from '../runtime/consumer-stage.js';
import { deadLetterTopic, ensureTopics, kindOfRawTopic, rawTopic } from '../topics.js';
import { registerDomainSchemas, registryInUseUrl } from '../registry/domain-values.js';
import { whileRegistryUnreachable } from '../registry/patience.js';
import { valueSubject } from '../registry/serde.js';
import { normaliseEnvelope, readRawMessage } from './transform-message.js';

export interface TransformOptions {
  bus: Bus;
  log: Logger;
  groupId: string;
  kinds: string[];
  topics: TopicsConfig;
  /** raw messages whose outputs go to Kafka in one send */
  maxBatchMessages: number;
  fromBeginning?: boolean;
  /** a held event (an oslo.log record waiting for more traceback lines) is emitted after this long without a new line */
  joinIdleMs?: number;
  /** each batch's records, dead letters and offsets in one Kafka transaction; absent: at-least-once */
  exactlyOnce?: ExactlyOnceOptions;
  /** how long registering the domain schemas may wait for an unreachable registry before the start fails (default 60 s) */
  registryPatienceMs?: number;
}

export interface ExactlyOnceOptions {
  transactionalId: string;
  transactionTimeoutMs: number;
  /** an output larger than this becomes a dead letter before the transaction (the broker would refuse it, failing the whole transaction) */
  maxRecordBytes: number;
}

/** The exactly-once settings of a transform in `groupId`, or undefined when transform.exactlyOnce is off. */
export function exactlyOnceOf(transform: TransformConfig, kafka: KafkaConfig, groupId: string): ExactlyOnceOptions | undefined {
  if (!transform.exactlyOnce) return undefined;
  return {
    transactionalId: transform.transactionalId ?? `${groupId}-${hostname()}-${randomBytes(4).toString('hex')}`,
    transactionTimeoutMs: transform.transactionTimeoutMs,
    maxRecordBytes: kafka.batchMaxBytes,
  };
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
  /** the schema registry subject of each domain topic this transform writes, with its schema id (empty without a registry) */
  subjects: ReadonlyMap<string, number>;
}

interface KindState {
  kind: string;
  normaliser: Normaliser;
  joiner: LineJoiner | undefined;
  counters: KindCounters;
}

/**
 * `tally transform`: raw.<kind> → Avro domain topics and dlq.<kind>. A message is done (and its
 * offset may be committed) only after Kafka acknowledged every record and dead letter it caused.
 * Kinds whose events span lines (oslo.log tracebacks) are joined per stream; a line held in an
 * unfinished event stays undone, so the commit never passes it.
 *
 * Exactly-once: a batch's outputs and the offsets it makes committable (the same rule: per
 * partition the highest offset below which everything is done, held lines included) commit in one
 * transaction. An aborted transaction rewinds the consumer to the committed offsets and forgets
 * the joiners' state, so the batch and every held line after those offsets are read again.
 */
export async function startTransform(options: TransformOptions): Promise<TransformStage> {
  const { bus, log } = options;
  const states = new Map<string, KindState>(
    options.kinds.map((kind) => {
      const normaliser = normaliserFor(kind);
      return [kind, { kind, normaliser, joiner: normaliser.createJoiner?.(), counters: { in: 0, out: 0, rejected: 0, empty: 0 } }];
    }),
  );
  const logical = options.kinds.flatMap((kind) => [rawTopic(kind), deadLetterTopic(kind), ...(states.get(kind)?.normaliser.topics ?? [])]);
  await ensureTopics(bus, options.topics, logical);
  const domainTopics = [...new Set([...states.values()].flatMap((state) => state.normaliser.topics))];
  const ids = await whileRegistryUnreachable(() => registerDomainSchemas(domainTopics.map((topic) => ({ logical: topic, physical: bus.topic(topic) }))), log, options.registryPatienceMs ?? 60_000);
  const subjects = new Map([...ids].map(([topic, id]) => [valueSubject(topic), id]));
  if (subjects.size > 0) log.info({ registry: registryInUseUrl(), subjects: Object.fromEntries(subjects) }, `domain values in the Confluent wire format; subjects registered in ${registryInUseUrl()}: ${[...subjects].map(([subject, id]) => `${subject} (id ${id})`).join(', ')}`);
  else log.info('no schema registry: domain values are bare Avro with the tally-schema-fingerprint header');
  const eos = options.exactlyOnce;
  const producer: Producer | undefined = eos ? undefined : await bus.producer();
  const transactional: TransactionalProducer | undefined = eos ? await bus.transactionalProducer({ transactionalId: eos.transactionalId, transactionTimeoutMs: eos.transactionTimeoutMs }) : undefined;
  if (eos) log.info({ transactionalId: eos.transactionalId }, `exactly-once: each batch commits in one transaction (transactional id ${eos.transactionalId})`);
  let stopping = false;
  let generation = -1;
  /** held lines per topic/partition, in offset order, marked done once their event is produced */
  const held = new Map<string, IncomingMessage[]>();
  let lock: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = lock.then(work, work);
    lock = run.catch(() => undefined);
    return run;
  };

  // the kind of an output whose topic one kind writes (those carry no tally-kind header)
  const writer = new Map<string, string>();
  for (const state of states.values()) for (const t of state.normaliser.topics) writer.set(bus.topic(t), state.kind);
  const context: SendContext = { log, stopping: () => stopping, topic: bus.topic, kindOf: (topic) => writer.get(topic) };
  const send = (records: OutgoingRecord[]): Promise<void> => (producer ? sendDurably(producer, records, context) : Promise.resolve());

  const forgetJoins = (): void => {
    held.clear();
    for (const state of states.values()) if (state.joiner) state.joiner = state.normaliser.createJoiner?.();
  };

  let aborts = 0;
  /**
   * Exactly-once: mark the work done, then commit the outputs with the offsets that became
   * committable in one transaction. After an abort the consumer reads again from the committed
   * offsets, and what this process held is forgotten.
   */
  const commitTransaction = async (consumer: Consumer, outgoing: OutgoingRecord[], markDone: () => void): Promise<void> => {
    if (!transactional || !eos) return;
    if (consumer.currentGeneration() > generation) {
      // the partitions were assigned anew while this batch was worked on: without its offsets its outputs would be written twice
      generation = consumer.currentGeneration();
      forgetJoins();
      return;
    }
    const records = outgoing.map((r) => (recordBytes(r) > eos.maxRecordBytes ? refusedByKafka(r, `larger than kafka.batchMaxBytes (${eos.maxRecordBytes} bytes), which stays under the broker's message.max.bytes`, context) : r));
    markDone();
    const offsets = consumer.committable();
    if (records.length === 0 && offsets.length === 0) return;
    try {
      await transactional.transact(records, consumer, offsets);
      consumer.committedInTransaction(offsets);
      aborts = 0;
    } catch (error) {
      aborts += 1;
      log.warn({ err: error, records: records.length, offsets: offsets.length, transactionalId: eos.transactionalId }, `transaction aborted; its batch is read again from the committed offsets: ${messageOf(error)}`);
      forgetJoins();
      generation = await consumer.rewind();
      if (!stopping) await sleep(Math.min(30_000, 100 * 2 ** Math.min(aborts, 9)));
    }
  };

  const joinedOutputs = (state: KindState, events: JoinedLines[], byMessage: Map<string, IncomingMessage>): OutgoingRecord[] => {
    const out: OutgoingRecord[] = [];
    for (const event of events) {
      const first = byMessage.get(`${event.topic}/${event.partition}/${event.firstOffset}`) ?? syntheticMessage(event);
      const outputs = normaliseEnvelope(event.envelope, first, state.kind, state.normaliser, bus.topic, Buffer.from(JSON.stringify(event.envelope)));
      state.counters.out += outputs.records.length;
      state.counters.rejected += outputs.deadLetters.length;
      out.push(...outputs.records, ...outputs.deadLetters);
    }
    return out;
  };

  /** mark done the held lines below their joiner's commit limit: their events are produced */
  const release = (consumer: RunningStage['consumer']): void => {
    for (const [key, messages] of held) {
      const first = messages[0];
      const limit = first ? states.get(kindOfRawTopic(bus, first.topic) ?? '')?.joiner?.lowestHeldOffset(first.topic, first.partition) : undefined;
      const kept: IncomingMessage[] = [];
      for (const message of messages) {
        if (limit === undefined || Number(message.offset) < limit) consumer.done(message);
        else kept.push(message);
      }
      if (kept.length) held.set(key, kept);
      else held.delete(key);
    }
  };

  let stage: RunningStage | undefined;
  const handle = (messages: IncomingMessage[], consumer: Consumer): Promise<ReadonlySet<IncomingMessage>> =>
    exclusive(async () => {
      const newest = Math.max(...messages.map((m) => m.generation));
      if (newest > generation) {
        // a new assignment: everything not done is delivered again from the committed offsets
        generation = newest;
        forgetJoins();
      }
      const keep = new Set<IncomingMessage>();
      const before = new Map([...states].map(([kind, s]) => [kind, { ...s.counters }]));
      let outgoing: OutgoingRecord[] = [];
      const byMessage = new Map<string, IncomingMessage>();
      for (const message of messages) {
        if (message.generation < generation) continue;
        const state = states.get(kindOfRawTopic(bus, message.topic) ?? '');
        if (!state) continue;
        state.counters.in += 1;
        if (message.value === null) {
          state.counters.empty += 1;
          continue;
        }
        const read = readRawMessage(message, state.kind, bus.topic);
        if ('deadLetter' in read) {
          state.counters.rejected += 1;
          outgoing.push(read.deadLetter);
          continue;
        }
        if (state.joiner) {
          byMessage.set(`${message.topic}/${message.partition}/${message.offset}`, message);
          const key = message.key?.toString('utf8') ?? `${read.envelope.host?.name ?? ''}:${read.envelope.log?.file?.path ?? ''}`;
          outgoing.push(...joinedOutputs(state, state.joiner.push(key, read.envelope, message), byMessage));
          keep.add(message);
          const list = held.get(`${message.topic}/${message.partition}`) ?? [];
          list.push(message);
          held.set(`${message.topic}/${message.partition}`, list);
        } else {
          const outputs = normaliseEnvelope(read.envelope, message, state.kind, state.normaliser, bus.topic);
          state.counters.out += outputs.records.length;
          state.counters.rejected += outputs.deadLetters.length;
          outgoing.push(...outputs.records, ...outputs.deadLetters);
        }
        if (!transactional && outgoing.length >= options.maxBatchMessages) {
          await send(outgoing);
          outgoing = [];
        }
      }
      if (transactional) {
        // the stage's own done marks after this return are no-ops: the batch is done (or rewound) here
        await commitTransaction(consumer, outgoing, () => {
          for (const message of messages) if (!keep.has(message)) consumer.done(message);
          release(consumer);
        });
      } else {
        await send(outgoing);
        release(consumer);
      }
      for (const [kind, state] of states) {
        const rejected = state.counters.rejected - (before.get(kind)?.rejected ?? 0);
        if (rejected) log.warn({ kind, rejected, topic: bus.topic(deadLetterTopic(kind)) }, `rejected ${rejected} ${kind} input(s); the reasons are in ${bus.topic(deadLetterTopic(kind))}`);
      }
      // release() marked done the lines whose events are complete; the stage marks the rest of the batch
      return keep;
    });

  stage = await startConsumerStage({ bus, log, groupId: options.groupId, topics: options.kinds.map((kind) => bus.topic(rawTopic(kind))), fromBeginning: options.fromBeginning ?? true, handle, maxBatchMessages: options.maxBatchMessages, transactional: Boolean(transactional) });
  const joinIdleMs = options.joinIdleMs ?? 2000;
  const timer = [...states.values()].some((s) => s.joiner)
    ? setInterval(() => {
        void exclusive(async () => {
          const outgoing: OutgoingRecord[] = [];
          for (const state of states.values()) if (state.joiner) outgoing.push(...joinedOutputs(state, state.joiner.flushOlderThan(joinIdleMs, Date.now()), new Map()));
          if (outgoing.length === 0 && held.size === 0) return;
          const consumer = stage?.consumer;
          if (!consumer) return;
          if (transactional) await commitTransaction(consumer, outgoing, () => release(consumer));
          else {
            await send(outgoing);
            release(consumer);
          }
        }).catch((error: unknown) => log.warn({ err: error }, `emitting idle joined events failed; they are emitted again from Kafka: ${messageOf(error)}`));
      }, Math.max(100, Math.floor(joinIdleMs / 2)))
    : undefined;
  timer?.unref();
  log.info({ kinds: options.kinds, groupId: options.groupId }, 'transform running');
  const running = stage;
  return {
    consumer: running.consumer,
    subjects,
    stats: () => Object.fromEntries([...states].map(([kind, s]) => [kind, { ...s.counters }])),
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      await running.stop();
      await producer?.close();
      await transactional?.close();
    },
  };
}

/** The Kafka coordinates of a joined event whose first line came in an earlier batch. */
function syntheticMessage(event: JoinedLines): IncomingMessage {
  return { topic: event.topic, partition: event.partition, offset: String(event.firstOffset), key: null, value: null, headers: {}, timestamp: 0, generation: 0 };
}

interface SendContext {
  log: Logger;
  stopping: () => boolean;
  topic: (name: string) => string;
  kindOf: (topic: string) => string | undefined;
}

/**
 * Send until Kafka acknowledged: retriable failures back off and try again (the records are the
 * same, their ids make a repeat harmless); a permanent refusal of a batch is narrowed down to the
 * records Kafka refuses, which become dead letters of their own.
 */
async function sendDurably(producer: Producer, records: OutgoingRecord[], context: SendContext): Promise<void> {
  if (records.length === 0) return;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await producer.send(records);
      return;
    } catch (error) {
      if (isTallyError(error) && !error.retriable) {
        if (records.length > 1) {
          const half = Math.ceil(records.length / 2);
          await sendDurably(producer, records.slice(0, half), context);
          await sendDurably(producer, records.slice(half), context);
          return;
        }
        await sendDurably(producer, [refusedByKafka(records[0] as OutgoingRecord, messageOf(error), context)], context);
        return;
      }
      if (context.stopping()) throw error;
      const backoffMs = Math.min(30_000, 200 * 2 ** Math.min(attempt, 8));
      context.log.warn({ err: error, attempt, backoffMs, records: records.length }, `Kafka did not acknowledge the outputs yet, sending them again: ${messageOf(error)}`);
      await sleep(backoffMs);
    }
  }
}

/** The dead letter of an output Kafka refuses (over its size limit), with the first 64 KiB of it. */
function refusedByKafka(record: OutgoingRecord, reason: string, { topic, kindOf }: SendContext): OutgoingRecord {
  const kind = record.headers?.['tally-kind'] ?? kindOf(record.topic) ?? /dlq\.([a-z0-9-]+)$/.exec(record.topic)?.[1] ?? 'unknown';
  const value = record.value === null ? Buffer.alloc(0) : Buffer.isBuffer(record.value) ? record.value : Buffer.from(record.value);
  const head = value.subarray(0, 64 * 1024);
  return deadLetterRecord(topic, {
    kind,
    stage: 'transform',
    original: head,
    source: { topic: record.topic, key: typeof record.key === 'string' ? record.key : (record.key?.toString('utf8') ?? null) },
    reasons: [{ code: 'RECORD_TOO_LARGE', rule: 'kafka', message: `Kafka refused the output for ${record.topic} (${value.length} bytes): ${reason}${head.length < value.length ? `; the original is cut to its first ${head.length} bytes` : ''}` }],
  });
}
