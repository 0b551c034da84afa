import type { Client } from '@elastic/elasticsearch';
import type { Bus, Consumer, IncomingMessage, Producer } from '../../../pipeline/bus/types.js';
import type { ElasticsearchConfig, TopicsConfig } from '../../../pipeline/config/types.js';
import { isTallyError, messageOf } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';
import { prepareDomainValues } from '../../../pipeline/registry/domain-values.js';
import { startConsumerStage, type RunningStage } from '../../../pipeline/runtime/consumer-stage.js';
import { deadLetterTopic, ensureTopics } from '../../../pipeline/topics.js';
import { retryingBulkWriter } from '../elasticsearch/retrying-bulk-writer.js';
import { CommitGate } from './commit-gate.js';
import { levelNumbers, resolveArchiveConfig, type ArchiveConfig, type ArchiveConfigInput } from './config.js';
import { archivedTopic, windowEventOf } from './event.js';
import { archiveIndex } from './setup.js';
import { writeArchive, type ArchiveItem, type WriterCounters } from './writer.js';
import { ArchiveWindow, type ReleasedEvent, type WindowCounters, type WindowSettings } from './window.js';

export interface ArchiveStageOptions {
  bus: Bus;
  client: Client;
  /** the client's settings, named in an ES_AUTH */
  elasticsearch?: ElasticsearchConfig;
  log: Logger;
  config: ArchiveConfigInput | ArchiveConfig;
  /** elasticsearch.indexPrefix: documents go to <prefix>ops-archive-YYYY.MM */
  indexPrefix: string;
  /** how long a bulk request may take at first (elasticsearch.requestTimeoutMs); it grows while requests time out */
  requestTimeoutMs?: number;
  /** when given, ops.logs and dlq.oslo-log are created if missing */
  topics?: TopicsConfig;
  fromBeginning?: boolean;
}

export interface ArchiveStats extends WindowCounters, WriterCounters {
  /** tombstones */
  skipped: number;
  /** values that are not ops.logs records of this schema (the ops.logs sink dead-letters them) */
  undecodable: number;
  /** events held as possible context now, and their bytes */
  buffered: number;
  bufferedBytes: number;
  /** archived events written and waiting until their contexts are all written */
  waiting: number;
  /** the assignment covers fewer partitions than the topic has: contexts can miss requests on the others */
  partialAssignment: boolean;
  frontier: string | null;
}

export interface RunningArchive extends RunningStage {
  readonly config: ArchiveConfig;
  stats(): ArchiveStats;
}

/**
 * `tally archive`: ops.logs → <prefix>ops-archive-*. Every event is held (undone) while a trigger
 * may still want it; an archived one until every event that could share a context with it is in
 * Elasticsearch (CommitGate). So a commit never passes an archive entry that is not written, nor
 * an event a replay would need to rebuild one.
 */
export async function startArchive(options: ArchiveStageOptions): Promise<RunningArchive> {
  const { bus, client, log } = options;
  const config = resolveArchiveConfig(options.config);
  const settings = windowSettings(config);
  const topic = bus.topic(archivedTopic);
  if (options.topics) await ensureTopics(bus, options.topics, [archivedTopic, deadLetterTopic(archiveIndex.kind)]);
  const partitions = await partitionCount(bus, topic, log);
  const producer: Producer = await bus.producer();
  const abort = new AbortController();
  const writer = retryingBulkWriter({ client, log, ...(options.elasticsearch ? { elasticsearch: options.elasticsearch } : {}), concurrency: config.concurrency, flushBytes: config.flushBytes, requestTimeoutMs: options.requestTimeoutMs ?? 30_000, maxBackoffMs: config.maxBackoffMs, signal: abort.signal });
  const writerCounters: WriterCounters = { written: 0, deadLettered: 0, retried: 0 };
  const counts = { skipped: 0, undecodable: 0 };
  let window = new ArchiveWindow<IncomingMessage>(settings);
  let gate = new CommitGate<IncomingMessage>(2 * window.horizonMs);
  let generation = -1;
  let partialAssignment = false;
  let evictedLogged = 0;
  let consumer: Consumer | undefined;

  // the stage loop with this stage's in-flight bound, and its consumer at hand for done()
  const ownBus: Bus = {
    backend: bus.backend,
    topic: (name) => bus.topic(name),
    producer: (o) => bus.producer(o),
    transactionalProducer: (o) => bus.transactionalProducer(o),
    admin: () => bus.admin(),
    consumer: async (o) => (consumer = await bus.consumer({ ...o, maxInFlight: config.maxInFlight })),
  };
  const done = (message: IncomingMessage): void => consumer?.done(message);

  let lock: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = lock.then(work, work);
    lock = run.catch(() => undefined);
    return run;
  };

  const reset = (now: number): void => {
    window = new ArchiveWindow<IncomingMessage>(settings);
    gate = new CommitGate<IncomingMessage>(2 * window.horizonMs);
    const assigned = (consumer?.assignment() ?? []).filter((p) => p.topic === topic);
    window.expect(assigned.map((p) => `${p.topic}/${p.partition}`), now);
    partialAssignment = partitions !== undefined && assigned.length > 0 && assigned.length < partitions;
    if (partialAssignment) {
      log.warn({ assigned: assigned.length, partitions, groupId: config.groupId }, `this archive process reads ${assigned.length} of ${partitions} partitions of ${topic}: requests in flight on the others are missing from its contexts; run one archive process per topic`);
    }
  };

  const flush = async (now: number): Promise<void> => {
    const released = window.step(now);
    const items: ArchiveItem[] = [];
    const archived: ReleasedEvent<IncomingMessage>[] = [];
    for (const entry of released) {
      if (entry.associations.length === 0) {
        for (const handle of entry.handles) done(handle);
        continue;
      }
      archived.push(entry);
      items.push({ message: entry.handles[0] as IncomingMessage & { value: Buffer }, id: entry.event.id, timeMs: entry.event.timeMs, associations: entry.associations, truncated: entry.truncated });
    }
    await writeArchive(items, { client, producer, log, topic: (name) => bus.topic(name), indexPrefix: options.indexPrefix, maxTriggersPerEvent: config.maxTriggersPerEvent, writer, maxBackoffMs: config.maxBackoffMs, signal: abort.signal }, writerCounters);
    for (const entry of archived) gate.hold(entry.event.timeMs, entry.event.id, entry.handles);
    for (const handle of gate.pass(window.releasedBelowMs)) done(handle);
    // while writes waited (Elasticsearch away), nothing was read: that is no reason to think the partitions quiet
    if (Date.now() - now > settings.idleMs / 2) window.resume(Date.now());
    if (window.counters.evicted > evictedLogged) {
      log.warn({ evicted: window.counters.evicted, triggersCutShort: window.counters.triggersCutShort, maxBufferedEvents: config.maxBufferedEvents, maxBufferedBytes: config.maxBufferedBytes }, 'the archive buffer is at its cap: the oldest events were released before their window closed, so some contexts are incomplete');
      evictedLogged = window.counters.evicted;
    }
  };

  const handle = (messages: IncomingMessage[]): Promise<ReadonlySet<IncomingMessage>> =>
    exclusive(async () => {
      // the writer schemas of wire-format values, once per registry id (an unreachable registry fails the batch, which the stage retries)
      await prepareDomainValues(messages);
      const now = Date.now();
      const newest = Math.max(...messages.map((m) => m.generation));
      if (newest > generation) {
        // a new assignment: everything not done is delivered again from the committed offsets
        generation = newest;
        reset(now);
      }
      for (const message of messages) {
        if (message.generation < generation) continue;
        if (message.value === null) {
          counts.skipped += 1;
          done(message);
          continue;
        }
        try {
          window.observe(windowEventOf(message as IncomingMessage & { value: Buffer }), message, now);
        } catch (error) {
          counts.undecodable += 1;
          log.warn({ topic: message.topic, partition: message.partition, offset: message.offset, code: isTallyError(error) ? error.code : undefined }, `not archived: ${messageOf(error)}`);
          done(message);
        }
      }
      await flush(now);
      // this stage marks every message done itself, when it may be committed
      return new Set(messages);
    });

  const stage = await startConsumerStage({ bus: ownBus, log, groupId: config.groupId, topics: [topic], fromBeginning: options.fromBeginning ?? true, handle, maxBackoffMs: config.maxBackoffMs });
  const timer = setInterval(() => {
    if (abort.signal.aborted || generation < 0) return;
    exclusive(() => flush(Date.now())).catch((error: unknown) => {
      if (!abort.signal.aborted) log.warn({ err: error }, `advancing the archive window failed; its events are read again: ${messageOf(error)}`);
    });
  }, config.tickMs);
  timer.unref();
  log.info({ topic, groupId: config.groupId, windowSeconds: config.windowSeconds, minLevel: config.minLevel }, 'archive running');

  return {
    consumer: stage.consumer,
    config,
    stats: () => ({
      ...window.counters,
      ...writerCounters,
      ...counts,
      buffered: window.size,
      bufferedBytes: window.bytes,
      waiting: gate.size,
      partialAssignment,
      frontier: Number.isFinite(window.frontierMs) ? new Date(window.frontierMs).toISOString() : null,
    }),
    async stop() {
      abort.abort();
      clearInterval(timer);
      await stage.stop();
      await producer.close();
    },
  };
}

export function windowSettings(config: ArchiveConfig): WindowSettings {
  return {
    windowMs: config.windowSeconds * 1000,
    requestWindowMs: config.requestWindowSeconds * 1000,
    latenessMs: config.latenessSeconds * 1000,
    idleMs: config.idleSeconds * 1000,
    maxBufferedEvents: config.maxBufferedEvents,
    maxBufferedBytes: config.maxBufferedBytes,
    minLevelNumber: levelNumbers[config.minLevel],
    maxTriggersPerEvent: config.maxTriggersPerEvent,
  };
}

async function partitionCount(bus: Bus, topic: string, log: Logger): Promise<number | undefined> {
  const admin = await bus.admin();
  try {
    return await admin.partitionCount(topic);
  } catch (error) {
    log.debug({ err: error, topic }, 'partition count unknown; a partial assignment is not reported');
    return undefined;
  } finally {
    await admin.close();
  }
}
