import type { RawEnvelope } from '../../envelope.js';
import { isExceptionPrefixOf } from './continuation.js';
import { parseOsloHeader, startsLikeRecord, stripOuterPrefix, type OsloHeader } from './header.js';

/**
 * Joins oslo.log continuation lines (tracebacks, embedded newlines) to the record they belong to,
 * for shippers that send one line per event (tally ship, Filebeat without multiline). Pure and
 * bounded: it holds at most one event per stream (the last one, until a line that starts a new
 * record arrives, or it is flushed by age), caps lines and bytes per event and the streams and
 * bytes held overall, and never does I/O or reads a clock itself.
 *
 * Streams are the Kafka key of the file tailer (host + path without rotation suffix), so a
 * traceback that straddles a rotation still arrives on one stream, in order.
 *
 * Delivery: a held line's Kafka offset must not be committed before its event is produced.
 * `lowestHeldOffset(topic, partition)` is the highest offset that may be committed on a partition
 * now: the first line of the oldest held event, lowered to the first line of any already emitted
 * multi-line event that reaches past it (streams interleave on a partition; a replay from the
 * middle of an emitted traceback would read its tail as an orphan).
 */

export interface JoinerLimits {
  /** lines one event holds, the first included; later continuation lines are counted, dropped, and the event flagged truncated */
  maxLinesPerEvent: number;
  /** UTF-8 bytes of one event's message, likewise */
  maxBytesPerEvent: number;
  /** streams holding an event; one more emits the least recently extended */
  maxStreams: number;
  /** bytes held over all streams; beyond, the least recently extended events are emitted */
  maxHeldBytes: number;
  /** remembered spans of emitted multi-line events per partition; beyond, the oldest held event of that partition is emitted */
  maxSpansPerPartition: number;
}

export const defaultJoinerLimits: JoinerLimits = {
  maxLinesPerEvent: 1000,
  maxBytesPerEvent: 1_048_576,
  maxStreams: 10_000,
  maxHeldBytes: 67_108_864,
  maxSpansPerPartition: 100_000,
};

/** Where a line was read from Kafka. */
export interface KafkaPosition {
  topic: string;
  partition: number;
  /** as the Kafka client reports it (a decimal string) or as a number */
  offset: string | number;
}

export interface JoinedEvent {
  streamKey: string;
  /** the first line's envelope (its coordinates make the record id), message = every joined line, log.flags += multiline [, truncated] */
  envelope: RawEnvelope;
  /** lines in the message */
  lines: number;
  droppedLines: number;
  droppedBytes: number;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

interface Held {
  streamKey: string;
  first: RawEnvelope;
  /** the first line's oslo header, to recognise its exception-prefix lines */
  header: OsloHeader | null;
  lines: string[];
  bytes: number;
  droppedLines: number;
  droppedBytes: number;
  partitionKey: string;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  touchedAt: number;
}

interface PartitionState {
  /** first offsets of the held events of this partition, by stream */
  heldFirst: Map<string, number>;
  /** [first, last] offsets of emitted multi-line events that may still reach past the commit limit */
  spans: [number, number][];
}

type LineKind = 'start' | 'continuation' | 'complete';

export class TracebackJoiner {
  readonly limits: JoinerLimits;
  /** in least-recently-extended order: a Map iterates in insertion order, and every extension re-inserts */
  private readonly held = new Map<string, Held>();
  private readonly partitions = new Map<string, PartitionState>();
  private heldBytes = 0;

  constructor(limits: Partial<JoinerLimits> = {}) {
    this.limits = { ...defaultJoinerLimits, ...limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`TracebackJoiner: ${name} must be a positive whole number, got ${String(value)}`);
    }
  }

  /** One line of a stream in; the events it completes out, in the order they must be produced. `now` is milliseconds on any clock flushOlderThan is given too. */
  push(streamKey: string, envelope: RawEnvelope, at: KafkaPosition, now: number = Date.now()): JoinedEvent[] {
    const ready: JoinedEvent[] = [];
    const offset = Number(at.offset);
    const partitionKey = `${at.topic}\u0000${at.partition}`;
    let held = this.held.get(streamKey);
    if (held && held.partitionKey !== partitionKey) {
      ready.push(this.emit(held));
      held = undefined;
    }
    const kind = classify(envelope.message, held);
    if (kind === 'continuation' && held) {
      this.append(held, envelope.message, offset, now);
    } else {
      if (held) ready.push(this.emit(held));
      if (kind === 'complete') ready.push(single(streamKey, envelope, at.topic, at.partition, offset));
      else this.hold(streamKey, envelope, partitionKey, at, offset, now);
    }
    this.enforceBounds(ready, partitionKey);
    return ready;
  }

  /** Emits every event whose last line came more than `ageMs` before `now` (quiet streams: the last record of a file). */
  flushOlderThan(ageMs: number, now: number = Date.now()): JoinedEvent[] {
    const ready: JoinedEvent[] = [];
    for (const held of this.held.values()) {
      if (now - held.touchedAt < ageMs) break;
      ready.push(this.emit(held));
    }
    return ready;
  }

  /** Emits everything held (the end of a finite input: `tally convert`). */
  flushAll(): JoinedEvent[] {
    return [...this.held.values()].map((held) => this.emit(held));
  }

  /**
   * Forgets a partition (revoked in a rebalance): its held events are not emitted, since their
   * offsets were never committed the next owner reads them again. Returns how many were held.
   */
  dropPartition(topic: string, partition: number): number {
    const partitionKey = `${topic}\u0000${partition}`;
    let dropped = 0;
    for (const held of [...this.held.values()]) {
      if (held.partitionKey !== partitionKey) continue;
      this.held.delete(held.streamKey);
      this.heldBytes -= held.bytes;
      dropped += 1;
    }
    this.partitions.delete(partitionKey);
    return dropped;
  }

  /**
   * The highest offset that may be committed on this partition now (Kafka's committed offset is
   * the next one to read), or undefined when the joiner holds nothing back there. Commit
   * min(what is done, this).
   */
  lowestHeldOffset(topic: string, partition: number): number | undefined {
    const state = this.partitions.get(`${topic}\u0000${partition}`);
    return state ? commitLimit(state) : undefined;
  }

  /** lowestHeldOffset for every partition that has one */
  lowestHeldOffsets(): { topic: string; partition: number; offset: number }[] {
    const limits: { topic: string; partition: number; offset: number }[] = [];
    for (const [key, state] of this.partitions) {
      const offset = commitLimit(state);
      if (offset === undefined) continue;
      const cut = key.indexOf('\u0000');
      limits.push({ topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)), offset });
    }
    return limits;
  }

  stats(): { streams: number; lines: number; bytes: number; spans: number } {
    let lines = 0;
    for (const held of this.held.values()) lines += held.lines.length;
    let spans = 0;
    for (const state of this.partitions.values()) spans += state.spans.length;
    return { streams: this.held.size, lines, bytes: this.heldBytes, spans };
  }

  private hold(streamKey: string, envelope: RawEnvelope, partitionKey: string, at: KafkaPosition, offset: number, now: number): void {
    const firstLine = envelope.message.split('\n', 1)[0] ?? '';
    const bytes = Buffer.byteLength(envelope.message);
    const held: Held = {
      streamKey,
      first: envelope,
      header: firstLine.trimStart().startsWith('{') ? null : parseOsloHeader(firstLine.replace(/\r$/, '')),
      lines: [envelope.message],
      bytes,
      droppedLines: 0,
      droppedBytes: 0,
      partitionKey,
      topic: at.topic,
      partition: at.partition,
      firstOffset: offset,
      lastOffset: offset,
      touchedAt: now,
    };
    this.held.set(streamKey, held);
    this.heldBytes += bytes;
    this.partition(partitionKey).heldFirst.set(streamKey, offset);
  }

  private append(held: Held, line: string, offset: number, now: number): void {
    const bytes = Buffer.byteLength(line) + 1;
    if (held.lines.length >= this.limits.maxLinesPerEvent || held.bytes + bytes > this.limits.maxBytesPerEvent) {
      held.droppedLines += 1;
      held.droppedBytes += bytes;
    } else {
      held.lines.push(line);
      held.bytes += bytes;
      this.heldBytes += bytes;
    }
    held.lastOffset = offset;
    held.touchedAt = now;
    this.held.delete(held.streamKey);
    this.held.set(held.streamKey, held);
  }

  private emit(held: Held): JoinedEvent {
    this.held.delete(held.streamKey);
    this.heldBytes -= held.bytes;
    const state = this.partitions.get(held.partitionKey);
    if (state) {
      state.heldFirst.delete(held.streamKey);
      if (held.lastOffset > held.firstOffset) state.spans.push([held.firstOffset, held.lastOffset]);
    }
    const joined = held.lines.length > 1 || held.droppedLines > 0;
    return {
      streamKey: held.streamKey,
      envelope: joined ? joinedEnvelope(held) : held.first,
      lines: held.lines.length,
      droppedLines: held.droppedLines,
      droppedBytes: held.droppedBytes,
      topic: held.topic,
      partition: held.partition,
      firstOffset: held.firstOffset,
      lastOffset: held.lastOffset,
    };
  }

  private enforceBounds(ready: JoinedEvent[], partitionKey: string): void {
    for (const held of this.held.values()) {
      if (this.held.size <= this.limits.maxStreams && this.heldBytes <= this.limits.maxHeldBytes) break;
      ready.push(this.emit(held));
    }
    const state = this.partitions.get(partitionKey);
    if (!state || state.spans.length <= this.limits.maxSpansPerPartition) return;
    commitLimit(state);
    while (state.spans.length > this.limits.maxSpansPerPartition) {
      const oldest = [...this.held.values()].filter((held) => held.partitionKey === partitionKey).sort((a, b) => a.firstOffset - b.firstOffset)[0];
      if (!oldest) {
        state.spans.length = 0;
        break;
      }
      ready.push(this.emit(oldest));
      commitLimit(state);
    }
  }

  private partition(key: string): PartitionState {
    let state = this.partitions.get(key);
    if (!state) {
      state = { heldFirst: new Map(), spans: [] };
      this.partitions.set(key, state);
    }
    return state;
  }
}

/** The commit limit of a partition; spans that can never reach past it again are forgotten (the limit only grows). */
function commitLimit(state: PartitionState): number | undefined {
  let limit = Infinity;
  for (const first of state.heldFirst.values()) if (first < limit) limit = first;
  for (let changed = true; changed; ) {
    changed = false;
    for (const [first, last] of state.spans) {
      if (first < limit && limit <= last) {
        limit = first;
        changed = true;
      }
    }
  }
  state.spans = state.spans.filter(([, last]) => last >= limit);
  return limit === Infinity ? undefined : limit;
}

function classify(message: string, held: Held | undefined): LineKind {
  const newline = message.indexOf('\n');
  const firstLine = (newline === -1 ? message : message.slice(0, newline)).replace(/\r$/, '');
  if (firstLine.trimStart().startsWith('{')) return 'complete';
  const header = parseOsloHeader(firstLine);
  if (header) return held?.header && isExceptionPrefixOf(held.header, header) ? 'continuation' : 'start';
  return startsLikeRecord(stripOuterPrefix(firstLine, held?.header?.outer ?? null)) ? 'start' : 'continuation';
}

function single(streamKey: string, envelope: RawEnvelope, topic: string, partition: number, offset: number): JoinedEvent {
  return { streamKey, envelope, lines: 1, droppedLines: 0, droppedBytes: 0, topic, partition, firstOffset: offset, lastOffset: offset };
}

function joinedEnvelope(held: Held): RawEnvelope {
  const log = (held.first.log ?? {}) as Record<string, unknown>;
  // the shipper's own flags stay (tally ship marks an over-long line truncated)
  const flags = Array.isArray(log.flags) ? log.flags.filter((f): f is string => typeof f === 'string') : [];
  if (!flags.includes('multiline')) flags.push('multiline');
  if (held.droppedLines > 0 && !flags.includes('truncated')) flags.push('truncated');
  return { ...held.first, message: held.lines.join('\n'), log: { ...log, flags } as RawEnvelope['log'] };
}

/**
 * The stream key of an envelope without a Kafka key (Filebeat's own Kafka output): host and path
 * without the rotation suffix (.1, .2.gz, -20240101), as the file tailer keys its lines.
 */
export function streamKeyOf(envelope: RawEnvelope): string {
  const host = typeof envelope.host?.name === 'string' ? envelope.host.name : '';
  const path = typeof envelope.log?.file?.path === 'string' ? envelope.log.file.path : '';
  return `${host}:${path.replace(/(?:\.\d+(?:\.gz)?|\.gz|-\d{8}(?:\.gz)?)$/, '')}`;
}
