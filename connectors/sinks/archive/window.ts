import { TimeOrdered } from './time-ordered.js';

/**
 * The incident archive's window, without I/O: which events are archived for which trigger, and
 * when an event can no longer be anyone's context.
 *
 * The context of a trigger T (level ≥ minLevel, time t, service S, request R) is
 *   - T itself ("trigger");
 *   - every event of request R within ±requestWindow of t ("request");
 *   - every event, on any service, of a request that has an event on S within ±window of t
 *     ("service-window"), itself within ±window of t.
 * A request is trace_id, else transaction_id; events without one belong to no request.
 *
 * Event time advances per source (Kafka partition): the frontier is the lowest newest time of the
 * sources that delivered recently (a source quiet for idleMs stops holding it back; when every source
 * is quiet, it follows the wall clock from the newest time seen). An event may arrive up to lateness
 * behind the frontier. A trigger is evaluated once every event within ±horizon of it has arrived
 * (horizon = the larger window): t < frontier − lateness − horizon. An event is released once no
 * pending or future trigger can want it: time < min(frontier − lateness, oldest pending trigger) − horizon.
 * A released event carries every trigger it was archived for; its set is final.
 */
export type ArchiveReason = 'trigger' | 'request' | 'service-window';

export interface WindowEvent {
  id: string;
  timeMs: number;
  level: string;
  levelNumber: number;
  service: string | null;
  /** trace_id, else transaction_id */
  request: string | null;
  /** where it was read (topic/partition): event time is tracked per source */
  source: string;
  /** what holding it costs: the size of its Avro value */
  bytes: number;
}

export interface TriggerRef {
  id: string;
  timeMs: number;
  level: string;
  levelNumber: number;
  service: string | null;
  request: string | null;
}

export interface Association {
  trigger: TriggerRef;
  reason: ArchiveReason;
  /** |event time − trigger time| */
  distanceMs: number;
}

export interface ReleasedEvent<H> {
  event: WindowEvent;
  /** every delivery of the event (a duplicate joins the one held) */
  handles: H[];
  /** the triggers it is archived for, closest first, at most maxTriggersPerEvent; empty: not archived */
  associations: Association[];
  /** more triggers wanted it than were kept */
  truncated: boolean;
  /** released before its time because the buffer was at its cap */
  evicted: boolean;
}

export interface WindowSettings {
  windowMs: number;
  requestWindowMs: number;
  latenessMs: number;
  idleMs: number;
  maxBufferedEvents: number;
  maxBufferedBytes: number;
  minLevelNumber: number;
  maxTriggersPerEvent: number;
}

export interface WindowCounters {
  observed: number;
  /** a delivery of an event already held */
  duplicates: number;
  /** arrived more than lateness behind the frontier: its archive context may be incomplete */
  late: number;
  triggers: number;
  lateTriggers: number;
  /** evaluated early because the buffer was at its cap */
  triggersCutShort: number;
  released: number;
  /** released early because the buffer was at its cap */
  evicted: number;
}

interface Entry<H> {
  readonly timeMs: number;
  readonly id: string;
  readonly event: WindowEvent;
  readonly handles: H[];
  readonly associations: Association[];
  truncated: boolean;
}

interface SourceClock {
  newestMs: number;
  lastArrival: number;
}

export class ArchiveWindow<H> {
  readonly horizonMs: number;
  readonly counters: WindowCounters = { observed: 0, duplicates: 0, late: 0, triggers: 0, lateTriggers: 0, triggersCutShort: 0, released: 0, evicted: 0 };
  private readonly all = new TimeOrdered<Entry<H>>();
  private readonly pending = new TimeOrdered<Entry<H>>();
  private readonly held = new Map<string, Entry<H>>();
  private readonly byService = new Map<string, TimeOrdered<Entry<H>>>();
  private readonly byRequest = new Map<string, TimeOrdered<Entry<H>>>();
  private readonly sources = new Map<string, SourceClock>();
  private frontier = Number.NEGATIVE_INFINITY;
  private bound = Number.NEGATIVE_INFINITY;
  private heldBytes = 0;

  constructor(private readonly settings: WindowSettings) {
    this.horizonMs = Math.max(settings.windowMs, settings.requestWindowMs);
  }

  get size(): number {
    return this.all.size;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  get pendingTriggers(): number {
    return this.pending.size;
  }

  /** event time as far as every source has delivered (see the class comment) */
  get frontierMs(): number {
    return this.frontier;
  }

  /** every event older than this has been released */
  get releasedBelowMs(): number {
    return this.bound;
  }

  /**
   * Sources that will deliver (the assigned partitions): each holds event time back until it has
   * delivered, or for idleMs, so the first batches of a restart are not read as late.
   */
  expect(sources: Iterable<string>, now: number): void {
    for (const source of sources) if (!this.sources.has(source)) this.sources.set(source, { newestMs: Number.NEGATIVE_INFINITY, lastArrival: now });
  }

  /**
   * The stage could not read until now (a write waited for Elasticsearch): time without deliveries
   * so far says nothing about the partitions, so none counts as quiet yet.
   */
  resume(now: number): void {
    for (const clock of this.sources.values()) clock.lastArrival = Math.max(clock.lastArrival, now);
  }

  observe(event: WindowEvent, handle: H, now: number): void {
    this.counters.observed += 1;
    const clock = this.sources.get(event.source) ?? { newestMs: Number.NEGATIVE_INFINITY, lastArrival: now };
    clock.newestMs = Math.max(clock.newestMs, event.timeMs);
    clock.lastArrival = now;
    this.sources.set(event.source, clock);
    const late = event.timeMs < this.frontier - this.settings.latenessMs;
    if (late) this.counters.late += 1;

    const existing = this.held.get(event.id);
    if (existing) {
      existing.handles.push(handle);
      this.counters.duplicates += 1;
      return;
    }
    const entry: Entry<H> = { timeMs: event.timeMs, id: event.id, event, handles: [handle], associations: [], truncated: false };
    this.held.set(event.id, entry);
    this.all.insert(entry);
    this.heldBytes += event.bytes;
    if (event.service !== null) listIn(this.byService, event.service).insert(entry);
    if (event.request !== null) listIn(this.byRequest, event.request).insert(entry);
    if (event.levelNumber >= this.settings.minLevelNumber) {
      this.counters.triggers += 1;
      if (late) this.counters.lateTriggers += 1;
      this.pending.insert(entry);
    }
  }

  /** Advance event time: evaluate the triggers whose context is complete, release what nobody can want, keep within the caps. */
  step(now: number): ReleasedEvent<H>[] {
    this.frontier = Math.max(this.frontier, this.currentFrontier(now));
    const { latenessMs } = this.settings;
    const completeBelow = this.frontier - latenessMs - this.horizonMs;
    // a trigger that arrived behind a bound the cap pushed forward is evaluated with what is left
    this.evaluateBelow(Math.max(completeBelow, this.bound + this.horizonMs), completeBelow);
    const oldestPending = this.pending.first()?.timeMs ?? Number.POSITIVE_INFINITY;
    this.bound = Math.max(this.bound, Math.min(this.frontier - latenessMs, oldestPending) - this.horizonMs);
    const released = this.releaseBelow(this.bound, false);

    while (this.all.size > 0 && (this.all.size > this.settings.maxBufferedEvents || this.heldBytes > this.settings.maxBufferedBytes)) {
      const forced = (this.all.first() as Entry<H>).timeMs + 1;
      this.evaluateBelow(forced + this.horizonMs, completeBelow);
      this.bound = Math.max(this.bound, forced);
      released.push(...this.releaseBelow(this.bound, true));
    }
    return released;
  }

  /** evaluate the pending triggers older than limitMs; those not yet complete are counted as cut short */
  private evaluateBelow(limitMs: number, completeBelowMs: number): void {
    for (let trigger = this.pending.first(); trigger && trigger.timeMs < limitMs; trigger = this.pending.first()) {
      if (trigger.timeMs >= completeBelowMs) this.counters.triggersCutShort += 1;
      this.evaluate(trigger);
    }
  }

  private currentFrontier(now: number): number {
    let active = false;
    let lowestActive = Number.POSITIVE_INFINITY;
    let newest = Number.NEGATIVE_INFINITY;
    let lastArrival = Number.NEGATIVE_INFINITY;
    for (const clock of this.sources.values()) {
      newest = Math.max(newest, clock.newestMs);
      lastArrival = Math.max(lastArrival, clock.lastArrival);
      if (now - clock.lastArrival < this.settings.idleMs) {
        active = true;
        lowestActive = Math.min(lowestActive, clock.newestMs);
      }
    }
    if (active) return lowestActive;
    return newest + Math.max(0, now - lastArrival);
  }

  private evaluate(trigger: Entry<H>): void {
    this.pending.remove(trigger);
    const { windowMs, requestWindowMs } = this.settings;
    const t = trigger.timeMs;
    const ref: TriggerRef = { id: trigger.id, timeMs: t, level: trigger.event.level, levelNumber: trigger.event.levelNumber, service: trigger.event.service, request: trigger.event.request };
    this.associate(trigger, ref, 'trigger');
    const own = trigger.event.request;
    if (own !== null) {
      for (const entry of this.byRequest.get(own)?.range(t - requestWindowMs, t + requestWindowMs) ?? []) if (entry !== trigger) this.associate(entry, ref, 'request');
    }
    if (trigger.event.service === null) return;
    const inFlight = new Set<string>();
    for (const entry of this.byService.get(trigger.event.service)?.range(t - windowMs, t + windowMs) ?? []) if (entry.event.request !== null) inFlight.add(entry.event.request);
    for (const request of inFlight) {
      for (const entry of this.byRequest.get(request)?.range(t - windowMs, t + windowMs) ?? []) {
        if (entry === trigger || (request === own && Math.abs(entry.timeMs - t) <= requestWindowMs)) continue;
        this.associate(entry, ref, 'service-window');
      }
    }
  }

  private associate(entry: Entry<H>, trigger: TriggerRef, reason: ArchiveReason): void {
    const association: Association = { trigger, reason, distanceMs: Math.abs(entry.timeMs - trigger.timeMs) };
    const list = entry.associations;
    let at = list.length;
    while (at > 0 && closer(association, list[at - 1] as Association)) at -= 1;
    list.splice(at, 0, association);
    if (list.length > this.settings.maxTriggersPerEvent) {
      list.pop();
      entry.truncated = true;
    }
  }

  private releaseBelow(boundMs: number, evicted: boolean): ReleasedEvent<H>[] {
    const out: ReleasedEvent<H>[] = [];
    for (let entry = this.all.first(); entry && entry.timeMs < boundMs; entry = this.all.first()) {
      this.all.shift();
      this.held.delete(entry.id);
      this.heldBytes -= entry.event.bytes;
      if (entry.event.service !== null) dropFrom(this.byService, entry.event.service, entry);
      if (entry.event.request !== null) dropFrom(this.byRequest, entry.event.request, entry);
      this.counters.released += 1;
      if (evicted) this.counters.evicted += 1;
      out.push({ event: entry.event, handles: entry.handles, associations: entry.associations, truncated: entry.truncated, evicted });
    }
    return out;
  }
}

/** closer triggers first; ties by trigger id, so the kept set does not depend on arrival order */
export function closer(a: Association, b: Association): boolean {
  return a.distanceMs < b.distanceMs || (a.distanceMs === b.distanceMs && a.trigger.id < b.trigger.id);
}

function listIn<H>(map: Map<string, TimeOrdered<Entry<H>>>, key: string): TimeOrdered<Entry<H>> {
  let list = map.get(key);
  if (!list) {
    list = new TimeOrdered<Entry<H>>();
    map.set(key, list);
  }
  return list;
}

function dropFrom<H>(map: Map<string, TimeOrdered<Entry<H>>>, key: string, entry: Entry<H>): void {
  const list = map.get(key);
  if (!list) return;
  list.remove(entry);
  if (list.size === 0) map.delete(key);
}
