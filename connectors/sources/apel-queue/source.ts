import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Bus, OutgoingRecord, Producer } from '../../../pipeline/bus/types.js';
import { deadLetterRecord, originalUpTo, type DeadLetterOriginal, type RejectionReason } from '../../../pipeline/dlq.js';
import { buildEnvelope } from '../../../pipeline/envelope.js';
import { isTallyError, messageOf } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';
import { deadLetterTopic, rawTopic } from '../../../pipeline/topics.js';
import { elementTimeMs } from '../../dirq/names.js';
import { QueueSimple, type PurgeOutcome } from '../../dirq/queue-simple.js';
import { truncation } from './complete.js';
import { resolveApelQueueConfig, type ApelQueueSourceConfig, type ApelQueueSourceConfigInput } from './config.js';
import { emptyPassCounters, lockInOrder, type LockedElement, type PassCounters } from './queue.js';

/** Counters of one `tally apel-queue`, for logs and tests. */
export interface ApelQueueStats extends PassCounters {
  passes: number;
  /** elements produced to raw.<kind> and removed from the queue */
  elements: number;
  bytes: number;
  /** elements that became dead letters (not UTF-8, too large) and left the queue */
  deadLettered: number;
  /** of those, elements too large for Kafka, moved to rejectPath */
  setAside: number;
  /** Kafka sends that failed and were retried */
  retries: number;
  /** elements whose removal failed after Kafka acknowledged them (they will be read again) */
  removeErrors: number;
  purged: PurgeOutcome;
}

export interface ApelQueueSource {
  readonly config: ApelQueueSourceConfig;
  stats(): ApelQueueStats;
  /** finish the send in hand (removing what Kafka acknowledged), release every other lock, close the producer */
  stop(): Promise<void>;
}

interface Prepared {
  locked: LockedElement;
  record: OutgoingRecord;
  bytes: number;
  /** moved aside instead of removed: too large for a dead letter to carry whole */
  setAside: boolean;
  deadLetter: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const deadLetterHeadBytes = 64 * 1024;
const stage = 'apel-queue';

/**
 * `tally apel-queue`: reads a dirq QueueSimple directory as ssmsend does (lock, read, hand on,
 * remove), except that "hand on" is a Kafka produce and the element is removed only after Kafka
 * acknowledged it (acks=all). One element is one raw.<kind> record: the element's text as the
 * envelope message, its path as log.file.path, its name as the Kafka key.
 */
export async function startApelQueueSource(input: ApelQueueSourceConfigInput | unknown, context: { bus: Bus; log: Logger }): Promise<ApelQueueSource> {
  const config = resolveApelQueueConfig(input);
  const { bus, log } = context;
  const queue = new QueueSimple(config.path);
  const rejectPath = config.rejectPath ?? path.join(config.path, 'rejected');
  if (config.createQueue) await mkdir(config.path, { recursive: true });
  let producer: Producer = await bus.producer();
  /** kafkajs's idempotent producer is left broken by a refused batch (every later send to that partition fails OUT_OF_ORDER_SEQUENCE_NUMBER), so a size refusal gets a fresh one */
  const replaceProducer = async (): Promise<void> => {
    const old = producer;
    producer = await bus.producer();
    await old.close().catch(() => undefined);
  };
  const stats: ApelQueueStats = { passes: 0, elements: 0, bytes: 0, deadLettered: 0, setAside: 0, retries: 0, removeErrors: 0, purged: { temporaries: 0, locks: 0, directories: 0 }, ...emptyPassCounters() };
  const rawName = bus.topic(rawTopic(config.kind));

  let stopping = false;
  let wake: (() => void) | undefined;
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const origin = (locked: LockedElement): string => `queue element ${locked.element} of ${config.path}`;
  const letter = (locked: LockedElement, reason: RejectionReason, original: Buffer | DeadLetterOriginal, setAside: boolean): Prepared => {
    const record = deadLetterRecord(bus.topic, { kind: config.kind, stage, original, source: { key: locked.element, origin: origin(locked) }, reasons: [reason] });
    return { locked, record, bytes: byteLength(record.value), setAside, deadLetter: true };
  };
  const setAside = (locked: LockedElement, why: string): Prepared =>
    letter(
      locked,
      { code: 'RECORD_TOO_LARGE', rule: 'maxRecordBytes', message: `${why}; the element was moved to ${path.join(rejectPath, asideName(locked.element))} and this dead letter holds its first ${Math.min(deadLetterHeadBytes, locked.bytes.length)} bytes` },
      originalUpTo(locked.bytes, deadLetterHeadBytes),
      true,
    );

  const prepare = (locked: LockedElement): Prepared => {
    if (locked.size > locked.bytes.length) return setAside(locked, `${origin(locked)} is ${locked.size} bytes, over maxRecordBytes (${config.maxRecordBytes}); only its first ${locked.bytes.length} bytes were read`);
    let text: string;
    try {
      text = strictUtf8.decode(locked.bytes);
    } catch {
      const prepared = letter(locked, { code: 'RECORD_UNPARSABLE', rule: 'utf-8', message: `${origin(locked)} is not valid UTF-8 (${locked.bytes.length} bytes); APEL messages are ASCII` }, locked.bytes, false);
      return prepared.bytes <= config.maxRecordBytes ? prepared : setAside(locked, `${origin(locked)} is not valid UTF-8 and too large (${locked.bytes.length} bytes) to carry whole in a dead letter`);
    }
    const cut = truncation(text);
    if (cut !== undefined) {
      const prepared = letter(locked, { code: 'RECORD_UNPARSABLE', rule: 'whole-element', message: `${origin(locked)} looks cut short: ${cut} (${locked.bytes.length} bytes). Its writer probably died while writing it (dirq does not fsync); the original bytes are here, the rest of the queue is read on` }, locked.bytes, false);
      return prepared.bytes <= config.maxRecordBytes ? prepared : setAside(locked, `${origin(locked)} looks cut short (${cut}) and is too large to carry whole in a dead letter`);
    }
    const timeMs = elementTimeMs(locked.element.slice(9));
    const envelope = buildEnvelope({ message: text, inputType: 'apel-queue', path: locked.path, ...(timeMs !== undefined ? { timestamp: new Date(timeMs) } : {}) });
    const value = JSON.stringify(envelope);
    const bytes = Buffer.byteLength(value);
    if (bytes > config.maxRecordBytes) return setAside(locked, `${origin(locked)} would be a ${bytes}-byte Kafka record, over maxRecordBytes (${config.maxRecordBytes})`);
    return { locked, record: { topic: rawName, key: locked.element, value, ...(timeMs !== undefined ? { timestamp: timeMs } : {}) }, bytes, setAside: false, deadLetter: false };
  };

  const release = async (batch: Prepared[]): Promise<void> => {
    for (const p of batch) await queue.unlock(p.locked.element).catch((error: unknown) => log.warn({ err: error, element: p.locked.element }, 'could not release a lock; purge will, after staleLockSeconds'));
  };

  /**
   * Until Kafka acknowledged (acks=all) or the source stops: retriable failures back off and try
   * again with the locks kept; a batch Kafka refuses as too large is sent one element at a time,
   * and a single element it refuses is set aside and dead-lettered instead.
   */
  const acknowledge = async (batch: Prepared[]): Promise<{ acked: Prepared[]; unsent: Prepared[] }> => {
    let backoff = config.retryInitialMs;
    let current = batch;
    for (;;) {
      try {
        await producer.send(current.map((p) => p.record));
        return { acked: current, unsent: [] };
      } catch (error) {
        if (stopping) return { acked: [], unsent: current };
        if (isSizeError(error)) await replaceProducer();
        if (isSizeError(error) && current.length > 1) {
          const acked: Prepared[] = [];
          for (const [i, p] of current.entries()) {
            const one = await acknowledge([p]);
            acked.push(...one.acked);
            if (one.unsent.length) return { acked, unsent: [...one.unsent, ...current.slice(i + 1)] };
          }
          return { acked, unsent: [] };
        }
        const only = current[0];
        if (isSizeError(error) && only && !only.setAside) {
          current = [setAside(only.locked, `Kafka refused ${origin(only.locked)} as too large (${messageOf(error)})`)];
          continue;
        }
        stats.retries += 1;
        const retriable = !isTallyError(error) || error.retriable;
        log[retriable ? 'warn' : 'error']({ err: error, elements: current.length, backoffMs: backoff }, `Kafka did not take ${current.length} queue element(s) yet; they stay locked in the queue: ${messageOf(error)}`);
        await keepLocksYoung(current);
        await pause(backoff);
        backoff = Math.min(config.retryMaxMs, backoff * 2);
        if (stopping) return { acked: [], unsent: current };
      }
    }
  };

  /** Kafka first, then each acknowledged element leaves the queue. False when the source stopped first (the rest are unlocked). */
  const deliver = async (batch: Prepared[]): Promise<boolean> => {
    const { acked, unsent } = await acknowledge(batch);
    for (const p of acked) {
      try {
        if (p.setAside) {
          await mkdir(rejectPath, { recursive: true });
          await rename(p.locked.path, path.join(rejectPath, asideName(p.locked.element)));
          await queue.unlock(p.locked.element);
        } else if (!(await queue.remove(p.locked.element))) {
          log.warn({ element: p.locked.element }, 'a queue element was already gone when removed: another reader took it after its lock went stale');
        }
      } catch (error) {
        stats.removeErrors += 1;
        log.error({ err: error, element: p.locked.element }, 'could not remove a queue element Kafka has acknowledged; it will be read again (a duplicate, never a loss)');
        continue;
      }
      if (p.deadLetter) {
        stats.deadLettered += 1;
        if (p.setAside) stats.setAside += 1;
      } else {
        stats.elements += 1;
        stats.bytes += p.locked.bytes.length;
      }
    }
    const letters = acked.filter((p) => p.deadLetter).length;
    if (letters) log.warn({ count: letters, topic: bus.topic(deadLetterTopic(config.kind)) }, 'queue elements rejected; the reasons are in the dead-letter topic');
    await release(unsent);
    return unsent.length === 0;
  };

  /** While Kafka is away the locks are kept young, so no purge (ours, SSM's) hands the elements to another reader. */
  const keepLocksYoung = async (batch: Prepared[]): Promise<void> => {
    if (config.staleLockSeconds === 0) return;
    const oldest = Date.now() - (config.staleLockSeconds * 1000) / 3;
    for (const p of batch) {
      if (p.locked.lockedAtMs > oldest) continue;
      await queue.touch(p.locked.element).catch(() => undefined);
      p.locked.lockedAtMs = Date.now();
    }
  };

  let lastPurge = 0;
  const purge = async (): Promise<void> => {
    if (config.purgeIntervalMs > 0 && Date.now() - lastPurge < config.purgeIntervalMs) return;
    lastPurge = Date.now();
    try {
      const outcome = await queue.purge({ maxTemporarySeconds: config.staleTemporarySeconds, maxLockSeconds: config.staleLockSeconds });
      stats.purged.temporaries += outcome.temporaries;
      stats.purged.locks += outcome.locks;
      stats.purged.directories += outcome.directories;
      if (outcome.locks || outcome.temporaries) log.warn({ ...outcome, path: config.path }, 'purged stale locks and temporary files of dead readers and writers');
    } catch (error) {
      log.warn({ err: error, path: config.path }, `purging the queue failed: ${messageOf(error)}`);
    }
  };

  const onUnreadable = (element: string, error: unknown): void => {
    const hint = (error as NodeJS.ErrnoException).code === 'EPERM' ? ' (with fs.protected_hardlinks=1 a reader may only lock files it owns or can read and write: run as the writer\'s user or share a group with mode 0664)' : '';
    log.error({ err: error, element }, `cannot lock or read queue element ${element}: ${messageOf(error)}${hint}`);
  };

  const onePass = async (): Promise<number> => {
    const counters = emptyPassCounters();
    let batch: Prepared[] = [];
    let batchBytes = 0;
    let seen = 0;
    try {
      for await (const locked of lockInOrder(queue, counters, onUnreadable, () => stopping, { maxBytes: config.maxRecordBytes, headBytes: deadLetterHeadBytes })) {
        seen += 1;
        const prepared = prepare(locked);
        if (batch.length && (batch.length >= config.batchMaxElements || batchBytes + prepared.bytes > config.batchMaxBytes)) {
          const delivered = await deliver(batch);
          batch = [];
          batchBytes = 0;
          if (!delivered) {
            await release([prepared]);
            break;
          }
        }
        batch.push(prepared);
        batchBytes += prepared.bytes;
      }
      if (batch.length) await deliver(batch);
    } finally {
      stats.passes += 1;
      stats.lockedByOthers += counters.lockedByOthers;
      stats.temporaries += counters.temporaries;
      stats.vanishedDirectories += counters.vanishedDirectories;
      stats.unreadable += counters.unreadable;
    }
    return seen;
  };

  const loop = (async () => {
    while (!stopping) {
      let seen = 0;
      try {
        seen = await onePass();
        if (!stopping) await purge();
      } catch (error) {
        log.error({ err: error, path: config.path }, `reading the queue failed; trying again: ${messageOf(error)}`);
      }
      if (seen === 0 && !stopping) await pause(config.pollIntervalMs);
    }
  })();

  log.info({ path: config.path, topic: rawName }, 'apel-queue reading');
  return {
    config,
    stats: () => ({ ...stats, purged: { ...stats.purged } }),
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      await producer.close();
    },
  };
}

const sizeErrors = new Set(['MESSAGE_TOO_LARGE', 'MSG_SIZE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const isSizeError = (error: unknown): boolean => isTallyError(error, 'KAFKA_PERMANENT') && sizeErrors.has(String(error.details?.kafkaError));

const asideName = (element: string): string => element.replace('/', '-');

const byteLength = (value: OutgoingRecord['value']): number => (value === null ? 0 : typeof value === 'string' ? Buffer.byteLength(value) : value.length);
