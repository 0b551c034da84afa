import { setTimeout as sleep } from 'node:timers/promises';
import { decodeDomainValue, prepareDomainValues } from '../../../pipeline/registry/domain-values.js';
import type { Bus, Consumer, IncomingMessage, OutgoingRecord, Producer } from '../../../pipeline/bus/types.js';
import type { TopicsConfig } from '../../../pipeline/config/types.js';
import { deadLetterRecord } from '../../../pipeline/dlq.js';
import { TallyError, isTallyError, messageOf } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';
import { deadLetterTopic, ensureTopics } from '../../../pipeline/topics.js';
import { QueueSimpleWriter, type WriterOptions } from '../../dirq/queue-simple.js';
import { ApelBatcher, type SealedBatch } from './batcher.js';
import { resolveApelSinkConfig, type ApelSinkConfig, type ApelSinkConfigInput } from './config.js';
import { assemble } from './render/framing.js';
import { framingsByType, messageTypeOfTopic, renderRecord, type RenderOptions } from './render/message-types.js';
import { describeWriteFault, type WriteFault } from './write-fault.js';

export interface ApelSinkStats {
  /** records rendered and batched */
  records: number;
  /** records in messages on disk */
  written: number;
  /** messages (queue elements) written */
  messages: number;
  bytes: number;
  /** records left out because a later snapshot of the same record id was in the same message */
  superseded: number;
  /** records that could not be rendered validly: in dlq.<kind> */
  deadLettered: number;
  /** records acknowledged without a message, by reason: "cloud.energy" (no APEL message type), "tombstone", "unknown topic" */
  skipped: Record<string, number>;
  /** text values changed to fit APEL's ASCII key: value text */
  transliterated: number;
  /** failed writes or dead-letter sends that were retried */
  retries: number;
  /** batched records dropped at a rebalance (Kafka delivers them again) */
  droppedOnRebalance: number;
  byType: Record<string, { records: number; messages: number }>;
  /** records batched or being written, not yet on disk */
  unwritten: number;
  /** failed attempts to write into the queue, all told */
  writeFailures: number;
  /** the write failing right now, if one is: what, since when (epoch ms), how many attempts */
  failing?: WriteFault & { sinceMs: number; attempts: number };
  /** `.tmp` files of killed writers removed at start */
  staleTemporariesRemoved: number;
}

export interface ApelSinkOptions {
  bus: Bus;
  log: Logger;
  config: ApelSinkConfigInput | ApelSinkConfig;
  /** when given, the consumed topics and the dead-letter topics are created if missing */
  topics?: TopicsConfig;
  fromBeginning?: boolean;
  /** test seam passed to the queue writer */
  writerHooks?: Pick<WriterOptions, 'onTemporaryWritten' | 'randomDigit'>;
}

export interface ApelSink {
  readonly config: ApelSinkConfig;
  consumer: Consumer;
  stats(): ApelSinkStats;
  /** seal every open message and wait until all are on disk */
  flush(): Promise<void>;
  /** the write progress for /readyz: position moves with every message written; failures since then are pending work */
  writeProgress(): { key: string; position: number; pending: number; failures: number };
  /** stop consuming, write what is batched, commit, leave the group; gives up a failing write after timeoutMs (its records come again) */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

type Batch = SealedBatch<IncomingMessage>;
const deadLetterKinds = new Set(['apel-message', 'caso-json']);
const stage = 'sink-apel';

/**
 * `tally sink apel`: cloud.* Avro records → APEL messages in an SSM outgoing queue. Records are
 * rendered one by one (a record APEL would refuse goes to the dead-letter topic of the kind it came
 * from instead of spoiling a message), batched per message type, written as whole queue elements
 * (tmp, fsync, link, fsync dir), and only then marked done, so Kafka commits nothing that is not
 * on disk. The handler returns at once; the consumer's in-flight bound is the backpressure.
 */
export async function startApelSink(options: ApelSinkOptions): Promise<ApelSink> {
  const { bus, log } = options;
  const config = 'fileMode' in options.config && typeof options.config.fileMode === 'number' ? (options.config as ApelSinkConfig) : resolveApelSinkConfig(options.config);
  const renderOptions: RenderOptions = { zeroDurationsAsOne: config.zeroDurationsAsOne, ipRecordUuid: config.ipRecordUuid };
  const writer = new QueueSimpleWriter(config.path, {
    onQueueCreated: (root) => log.warn({ path: root }, `the APEL outgoing queue ${root} was missing and was created again (mode ${config.directoryMode.toString(8)}${config.uid !== undefined ? `, owner ${config.uid}` : ''}${config.gid !== undefined ? `, group ${config.gid}` : ''}); messages that were in it before it went are not in it now: check who removed it and that ssmsend's sender.cfg [messaging] path is this directory`),
    granularitySeconds: config.granularitySeconds,
    fileMode: config.fileMode,
    directoryMode: config.directoryMode,
    ...(config.uid !== undefined ? { uid: config.uid } : {}),
    ...(config.gid !== undefined ? { gid: config.gid } : {}),
    ...options.writerHooks,
  });
  const batcher = new ApelBatcher<IncomingMessage>({ maxRecords: config.maxRecordsPerMessage, maxBytes: config.maxMessageBytes }, framingsByType);
  const stats: ApelSinkStats = { records: 0, written: 0, messages: 0, bytes: 0, superseded: 0, deadLettered: 0, skipped: {}, transliterated: 0, retries: 0, droppedOnRebalance: 0, byType: {}, unwritten: 0, writeFailures: 0, staleTemporariesRemoved: 0 };
  try {
    const stale = await writer.removeStaleTemporaries();
    stats.staleTemporariesRemoved = stale.removed.length;
    if (stale.removed.length) log.warn({ path: config.path, removed: stale.removed }, `removed ${stale.removed.length} half-written .tmp file(s) of an earlier sink that was killed; their records were never committed and come again from Kafka`);
  } catch (error) {
    const fault = describeWriteFault(error, config.path);
    log.warn({ ...fault }, `could not look for half-written .tmp files of a killed sink in ${config.path} (${fault.errno}: ${fault.message}); ssmsend's purge removes them after 300 s`);
  }
  const logicalOf = new Map(config.topics.map((t) => [bus.topic(t), t]));
  if (options.topics) await ensureTopics(bus, options.topics, [...config.topics, ...[...deadLetterKinds].map(deadLetterTopic)]);
  if (config.topics.includes('cloud.energy')) log.warn('cloud.energy is consumed but has no APEL message (cASO\'s SSM messenger refuses energy records too): its records are acknowledged and counted as skipped, not sent');

  const producer: Producer = await bus.producer();
  const consumer = await bus.consumer({ groupId: config.groupId, topics: [...logicalOf.keys()], fromBeginning: options.fromBeginning ?? true, maxInFlight: config.maxInFlight });
  consumer.on('error', (error) => log.warn({ err: error }, 'consumer error'));
  consumer.on('assigned', (partitions) => {
    const dropped = batcher.clear();
    stats.droppedOnRebalance += dropped;
    stats.unwritten -= dropped;
    log.info({ partitions: partitions.length, groupId: config.groupId, dropped }, 'partitions assigned');
  });

  let stopping = false;
  let giveUpAt = Number.POSITIVE_INFINITY;

  /** Retries until done; while stopping, only until the stop deadline. */
  const persist = async (what: string, attempt: () => Promise<void>): Promise<boolean> => {
    let backoff = config.retryInitialMs;
    for (;;) {
      try {
        await attempt();
        return true;
      } catch (error) {
        if (Date.now() >= giveUpAt) {
          log.error({ err: error }, `${what} failed and the sink is stopping: its records stay uncommitted and come again`);
          return false;
        }
        stats.retries += 1;
        const retriable = !isTallyError(error) || error.retriable;
        log[retriable ? 'warn' : 'error']({ err: error, backoffMs: backoff }, `${what} failed, retrying: ${messageOf(error)}`);
        await sleep(backoff);
        backoff = Math.min(config.retryMaxMs, backoff * 2);
      }
    }
  };

  /**
   * Writes into the queue until done (or the stop deadline): a failure is logged with the path, the
   * errno and the remedy (an error when it starts, then a warning per retry, an info line when it
   * clears), shows in stats().failing and in writeProgress() for /readyz, and is retried with backoff.
   */
  const persistWrite = async (what: string, attempt: () => Promise<void>): Promise<boolean> => {
    let backoff = config.retryInitialMs;
    for (;;) {
      try {
        await attempt();
        if (stats.failing) {
          log.info({ path: config.path, errno: stats.failing.errno, attempts: stats.failing.attempts, failedForMs: Date.now() - stats.failing.sinceMs }, `writing into ${config.path} works again after ${stats.failing.attempts} failed attempt(s) over ${Math.round((Date.now() - stats.failing.sinceMs) / 1000)} s (${stats.failing.errno}); nothing was committed meanwhile`);
          delete stats.failing;
        }
        return true;
      } catch (error) {
        const fault = describeWriteFault(error, config.path);
        const first = stats.failing === undefined || stats.failing.errno !== fault.errno;
        stats.failing = { ...fault, sinceMs: stats.failing?.sinceMs ?? Date.now(), attempts: (stats.failing?.attempts ?? 0) + 1 };
        stats.writeFailures += 1;
        if (Date.now() >= giveUpAt) {
          log.error({ ...fault }, `${what} failed (${fault.errno} on ${fault.path}) and the sink is stopping: its records stay uncommitted in Kafka and come again on the next run`);
          return false;
        }
        stats.retries += 1;
        const fields = { path: fault.path, queue: config.path, errno: fault.errno, attempt: stats.failing.attempts, backoffMs: backoff, remedy: fault.remedy };
        if (first) log.error(fields, `cannot write APEL messages into ${config.path}: ${fault.errno} on ${fault.path} (${fault.message}). ${fault.remedy}. Nothing is committed past the last message on disk; the sink retries with backoff (up to ${config.retryMaxMs} ms) and goes on by itself once that is fixed`);
        else log.warn(fields, `${what} still failing (${fault.errno} on ${fault.path}, attempt ${stats.failing.attempts}); retrying in ${backoff} ms`);
        await sleep(backoff);
        backoff = Math.min(config.retryMaxMs, backoff * 2);
      }
    }
  };

  const writeBatches = async (batches: Batch[]): Promise<void> => {
    const full = batches.filter((b) => b.texts.length > 0);
    const bodies = full.map((b) => Buffer.from(assemble(framingsByType[b.type] ?? unknownType(b.type), b.texts), 'latin1'));
    let names: string[] = [];
    const ok = await persistWrite(`writing ${full.length} APEL message(s) to ${config.path}`, async () => {
      names = await writer.add(bodies);
    });
    if (!ok) return;
    for (const [i, batch] of full.entries()) {
      stats.messages += 1;
      stats.written += batch.texts.length;
      stats.bytes += bodies[i]?.length ?? 0;
      const typeStats = (stats.byType[batch.type] ??= { records: 0, messages: 0 });
      typeStats.messages += 1;
      typeStats.records += batch.texts.length;
      log.debug({ element: names[i], type: batch.type, records: batch.texts.length, bytes: bodies[i]?.length }, 'APEL message written');
    }
    for (const batch of batches) {
      stats.superseded += batch.superseded;
      stats.unwritten -= batch.texts.length + batch.superseded;
      for (const message of batch.messages) consumer.done(message);
    }
  };

  let chain: Promise<void> = Promise.resolve();
  const enqueueWrite = (batches: Batch[]): Promise<void> => {
    if (batches.length === 0) return chain;
    // a write that throws is logged and its records stay not done (Kafka delivers them again); the chain goes on
    chain = chain.then(() => writeBatches(batches)).catch((error: unknown) => log.error({ err: error }, `writing APEL messages failed: ${messageOf(error)}`));
    return chain;
  };

  // the latest snapshot time batched per record id (bounded): an older snapshot arriving later never replaces it in APEL
  const latestVersion = new Map<string, number>();
  const maxRememberedVersions = 200_000;
  const skip = (message: IncomingMessage, reason: string): void => {
    stats.skipped[reason] = (stats.skipped[reason] ?? 0) + 1;
    consumer.done(message);
  };

  let handling: Promise<void> = Promise.resolve();
  const handle = async (messages: IncomingMessage[]): Promise<void> => {
    if (stopping) return;
    // the writer schemas of wire-format values, once per registry id: decoding below is then synchronous
    if (!(await persist('fetching writer schemas from the schema registry', () => prepareDomainValues(messages)))) return;
    const letters: OutgoingRecord[] = [];
    const lettered: IncomingMessage[] = [];
    const sealed: Batch[] = [];
    for (const message of messages) {
      const logical = logicalOf.get(message.topic);
      if (message.value === null) {
        skip(message, 'tombstone');
        continue;
      }
      const type = logical === undefined ? undefined : messageTypeOfTopic(logical);
      if (!logical || !type) {
        skip(message, logical === 'cloud.energy' ? 'cloud.energy' : 'unknown topic');
        continue;
      }
      const id = message.key?.toString('utf8') || `${message.topic}/${message.partition}/${message.offset}`;
      let text: string;
      let version: number | undefined;
      try {
        const record = decodeDomainValue(logical, { value: message.value, headers: message.headers }, `${message.topic}/${message.partition} offset ${message.offset}`);
        version = typeof record.measurement_time === 'number' ? record.measurement_time : undefined;
        const rendered = renderRecord(type, record, renderOptions);
        if (!batcher.fits(type.type, rendered.text.length)) throw new TallyError('RECORD_UNRENDERABLE', `the rendered record is ${rendered.text.length} bytes: alone it is over maxMessageBytes (${config.maxMessageBytes})`);
        text = rendered.text;
        stats.transliterated += rendered.transliterated;
      } catch (error) {
        const kindHeader = message.headers['tally-kind']?.toString('utf8');
        const kind = kindHeader && deadLetterKinds.has(kindHeader) ? kindHeader : 'apel-message';
        const code = isTallyError(error) ? error.code : 'RECORD_UNRENDERABLE';
        letters.push(deadLetterRecord(bus.topic, { kind, stage, original: message.value, source: { topic: message.topic, partition: message.partition, offset: message.offset, key: id, origin: `${logical} record ${id}` }, reasons: [{ code, rule: `apel-${type.type}`, message: `cannot be written as an APEL ${type.type} record: ${messageOf(error)}` }] }));
        lettered.push(message);
        continue;
      }
      const latest = latestVersion.get(id);
      if (version !== undefined && latest !== undefined && version < latest) {
        skip(message, 'older snapshot');
        continue;
      }
      if (version !== undefined) {
        latestVersion.delete(id);
        latestVersion.set(id, version);
        if (latestVersion.size > maxRememberedVersions) latestVersion.delete(latestVersion.keys().next().value as string);
      }
      stats.records += 1;
      stats.unwritten += 1;
      sealed.push(...batcher.add(type.type, { id, text, partition: message.partition, offset: BigInt(message.offset), ...(version !== undefined ? { version } : {}), message }, Date.now()));
    }
    if (letters.length) {
      if (!(await persist(`sending ${letters.length} dead letter(s)`, () => producer.send(letters)))) return;
      stats.deadLettered += letters.length;
      for (const message of lettered) consumer.done(message);
      log.warn({ count: letters.length }, 'records APEL would refuse went to the dead-letter topics instead of a message');
    }
    void enqueueWrite(sealed);
  };

  const lingerCheckMs = Math.max(5, Math.min(250, Math.floor(config.flushIntervalMs / 4)));
  const timer = setInterval(() => {
    if (!stopping) void enqueueWrite(batcher.due(Date.now(), config.flushIntervalMs));
  }, lingerCheckMs);
  timer.unref();

  await consumer.run(async (messages) => {
    const work = handle(messages);
    handling = work.catch(() => undefined);
    await work;
  });
  log.info({ path: config.path, topics: config.topics, groupId: config.groupId }, 'sink apel running');

  return {
    config,
    consumer,
    stats: () => structuredClone(stats),
    writeProgress: () => ({ key: config.path, position: stats.messages, pending: Math.max(0, stats.unwritten), failures: stats.writeFailures }),
    async flush() {
      await enqueueWrite(batcher.drain());
      await chain;
    },
    async stop(stopOptions = {}) {
      if (stopping) return;
      stopping = true;
      giveUpAt = Date.now() + (stopOptions.timeoutMs ?? 30_000);
      clearInterval(timer);
      consumer.pause();
      await handling;
      await enqueueWrite(batcher.drain());
      await chain;
      await consumer.close({ commit: true });
      await producer.close();
      log.info({ stats }, 'sink apel stopped');
    },
  };
}

function unknownType(type: string): never {
  throw new TallyError('RECORD_UNRENDERABLE', `no APEL message framing for record type ${type}`);
}
