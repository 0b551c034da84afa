import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Bus, Consumer } from '../bus/types.js';
import { messageOf } from '../errors.js';
import { metrics } from './metrics.js';

/** One unit of work a probe watches (a partition, a source) as it was when sampled. */
export interface ProgressSample {
  /** what is watched, unique within the probe: "topic/partition", "files" */
  key: string;
  /** changes whenever work completes: a committed offset, a count of acknowledged events */
  position: string | number;
  /** work waiting now: the partition's lag, lines read but not acknowledged */
  pending?: number;
  /** a running count of failed attempts (Kafka sends retried ...): failures since the position last moved are pending work */
  failures?: number;
}

/** What a stage implements so that "no progress while there is work" can be told. */
export interface ProgressProbe {
  readonly name: string;
  sample(): ProgressSample[] | Promise<ProgressSample[]>;
  close?(): Promise<void>;
}

export interface ProbeStatus {
  probe: string;
  key: string;
  pending: number;
  /** failed attempts since the position last moved */
  failures: number;
  /** how long there has been work and the position has not moved; 0 when idle or moving */
  stalledForMs: number;
  stalled: boolean;
}

export interface ProgressReport {
  stalled: boolean;
  stallTimeoutMs: number;
  probes: ProbeStatus[];
  /** probes whose last sample failed: their last known state still counts */
  errors: { probe: string; error: string; sinceMs: number }[];
}

export interface ProbeFailure {
  probe: string;
  error: unknown;
  /** the probe was readable before this failure */
  first: boolean;
}

interface Track {
  position: string;
  pending: number;
  failures: number | undefined;
  failuresAtMove: number | undefined;
  movedAt: number;
  waitingSince: number | undefined;
}

/**
 * The stall rule: a unit of work is stalled when it has had pending work (pending > 0, or failures
 * since its position last moved) and its position has not moved for stallTimeoutMs. Idle is never
 * stalled, and the clock starts when work appears, not when the position last moved. A probe that
 * cannot be read keeps its last state, so work that was waiting keeps waiting.
 */
export class StallDetector {
  private readonly tracks = new Map<string, Map<string, Track>>();
  private readonly failing = new Map<string, { error: string; since: number }>();
  private polling: Promise<ProbeFailure[]> | undefined;
  private readonly probes: ProgressProbe[];

  constructor(
    probes: readonly ProgressProbe[],
    private readonly stallTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.probes = [...probes];
  }

  add(probe: ProgressProbe): void {
    this.probes.push(probe);
  }

  /** Sample every probe once; a poll still running is joined, not doubled. Resolves with the probes that failed. */
  poll(): Promise<ProbeFailure[]> {
    this.polling ??= this.pollAll().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async pollAll(): Promise<ProbeFailure[]> {
    const failures: ProbeFailure[] = [];
    for (const probe of this.probes) {
      try {
        this.observe(probe.name, await probe.sample());
        this.failing.delete(probe.name);
      } catch (error) {
        const first = !this.failing.has(probe.name);
        this.failing.set(probe.name, { error: messageOf(error), since: this.failing.get(probe.name)?.since ?? this.now() });
        failures.push({ probe: probe.name, error, first });
      }
    }
    return failures;
  }

  /** Record samples taken now; keys the probe no longer reports (a partition assigned elsewhere) are forgotten. */
  observe(probe: string, samples: ProgressSample[]): void {
    const now = this.now();
    const previous = this.tracks.get(probe) ?? new Map<string, Track>();
    const next = new Map<string, Track>();
    for (const sample of samples) {
      const position = String(sample.position);
      const pending = Math.max(0, sample.pending ?? 0);
      const known = previous.get(sample.key);
      const track: Track = known ?? { position, pending, failures: sample.failures, failuresAtMove: sample.failures, movedAt: now, waitingSince: undefined };
      if (known && known.position !== position) {
        track.position = position;
        track.movedAt = now;
        track.failuresAtMove = sample.failures;
      }
      track.pending = pending;
      track.failures = sample.failures;
      if (waiting(track)) track.waitingSince ??= now;
      else track.waitingSince = undefined;
      next.set(sample.key, track);
    }
    this.tracks.set(probe, next);
  }

  report(): ProgressReport {
    const now = this.now();
    const probes: ProbeStatus[] = [];
    for (const [probe, tracks] of this.tracks) {
      for (const [key, track] of tracks) {
        const stalledForMs = track.waitingSince === undefined ? 0 : Math.max(0, now - Math.max(track.movedAt, track.waitingSince));
        probes.push({ probe, key, pending: track.pending, failures: failuresSinceMove(track), stalledForMs, stalled: stalledForMs >= this.stallTimeoutMs });
      }
    }
    return {
      stalled: probes.some((p) => p.stalled),
      stallTimeoutMs: this.stallTimeoutMs,
      probes,
      errors: [...this.failing].map(([probe, f]) => ({ probe, error: f.error, sinceMs: now - f.since })),
    };
  }

  /** Close the probes; a poll in flight (Kafka away) is not waited for, it only ends in an error. */
  async close(): Promise<void> {
    for (const probe of this.probes) await probe.close?.().catch(() => undefined);
  }
}

function failuresSinceMove(track: Track): number {
  return track.failures === undefined || track.failuresAtMove === undefined ? 0 : Math.max(0, track.failures - track.failuresAtMove);
}

function waiting(track: Track): boolean {
  return track.pending > 0 || failuresSinceMove(track) > 0;
}

export interface ConsumerProgressOptions {
  bus: Bus;
  groupId: string;
  /** the consumed topics, prefixed (bus.topic(...)) */
  topics: string[];
  /** when given, only the partitions assigned to this process are judged (the lag gauge shows every partition) */
  consumer?: Pick<Consumer, 'assignment'>;
}

/**
 * A consumer stage's progress: the group's committed offsets and lag, from Kafka itself, so it
 * holds for any consumer (the shared loop or the APEL sink's own). Every sample also sets
 * tally_consumer_lag. With no partition assigned (joining, or dropped from the group while stuck),
 * the whole group is judged.
 */
export function consumerProgress(options: ConsumerProgressOptions): ProgressProbe {
  const { groupId } = options;
  let admin: Promise<Admin> | undefined;
  let closed = false;
  const series = new Set<string>();
  const drop = (): void => {
    const stale = admin;
    admin = undefined;
    void stale?.then((a) => a.close()).catch(() => undefined);
  };
  return {
    name: `consumer group ${groupId}`,
    async sample() {
      // a poll still under way when the probe closed must not open an admin that nobody closes (it kept a test process alive)
      if (closed) return [];
      admin ??= options.bus.admin();
      const samples: ProgressSample[] = [];
      try {
        const client = await admin;
        const assigned = new Set((options.consumer?.assignment() ?? []).map((tp) => `${tp.topic}/${tp.partition}`));
        for (const topic of options.topics) {
          for (const offsets of await client.groupOffsets(groupId, topic)) {
            const partition = String(offsets.partition);
            metrics.consumerLag.set({ group: groupId, topic, partition }, offsets.lag);
            series.add(`${topic}\u0000${partition}`);
            const key = `${topic}/${partition}`;
            if (assigned.size === 0 || assigned.has(key)) samples.push({ key, position: offsets.committed, pending: offsets.lag });
          }
        }
      } catch (error) {
        drop();
        throw error;
      }
      return samples;
    },
    async close() {
      closed = true;
      for (const s of series) {
        const [topic = '', partition = ''] = s.split('\u0000');
        metrics.consumerLag.remove({ group: groupId, topic, partition });
      }
      const open = admin;
      admin = undefined;
      // an admin still connecting to a broker that is away must not hold up a shutdown
      await Promise.race([open?.then((a) => a.close()).catch(() => undefined), sleep(2_000, undefined, { ref: false })]);
    },
  };
}

/** A source's progress as one sample ("work"), read from its own counters (see ProgressSample). */
export function sourceProgress(name: string, read: () => Omit<ProgressSample, 'key'>): ProgressProbe {
  return { name, sample: () => [{ key: 'work', ...read() }] };
}
