import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CommitGate } from '../../../../connectors/sinks/archive/commit-gate.js';
import { ArchiveWindow, type ArchiveReason, type ReleasedEvent, type WindowEvent, type WindowSettings } from '../../../../connectors/sinks/archive/window.js';
import { expectedArchive } from './oracle.js';

const second = 1000;
const base: WindowSettings = {
  windowMs: 60 * second,
  requestWindowMs: 60 * second,
  latenessMs: 10 * second,
  idleMs: 1e15,
  maxBufferedEvents: 1_000_000,
  maxBufferedBytes: 1e12,
  minLevelNumber: 30,
  maxTriggersPerEvent: 1000,
};
/** a wall-clock time after every source has been quiet for longer than idleMs: event time runs to the end */
const theEnd = 1e16;

let serial = 0;
function event(fields: Partial<WindowEvent> & { timeMs: number }): WindowEvent {
  serial += 1;
  return { id: `e${String(serial).padStart(6, '0')}`, level: 'INFO', levelNumber: 20, service: 'nova', request: null, source: 'p0', bytes: 100, ...fields };
}

const reasonsOf = (released: ReleasedEvent<unknown>): Map<string, ArchiveReason> => new Map(released.associations.map((a) => [a.trigger.id, a.reason]));

interface Arrival {
  event: WindowEvent;
  stepAfter: boolean;
}

/**
 * Events from up to three sources, each source in time order but for a jitter of up to the
 * lateness (the contract the window relies on), interleaved in any way.
 */
function withinContract(latenessMs: number): fc.Arbitrary<Arrival[]> {
  const one = fc.record({
    gapMs: fc.integer({ min: 0, max: 25 * second }),
    jitterMs: fc.integer({ min: 0, max: latenessMs }),
    levelNumber: fc.constantFrom(10, 20, 20, 20, 20, 30, 40),
    service: fc.constantFrom<string | null>('nova', 'nova', 'neutron', 'glance', null),
    request: fc.constantFrom<string | null>('r0', 'r1', 'r2', 'r3', 'r4', 'r5', null),
    stepAfter: fc.boolean(),
  });
  return fc
    .tuple(fc.array(one, { maxLength: 30 }), fc.array(one, { maxLength: 30 }), fc.array(one, { maxLength: 30 }), fc.array(fc.nat(), { minLength: 90, maxLength: 90 }))
    .map(([a, b, c, picks]) => {
      const perSource = [a, b, c].map((list, s) => {
        let at = 1_700_000_000_000;
        return list.map((e) => {
          at += e.gapMs;
          return { event: event({ timeMs: at - e.jitterMs, levelNumber: e.levelNumber, level: e.levelNumber >= 30 ? 'WARNING' : 'INFO', service: e.service, request: e.request, source: `p${s}` }), stepAfter: e.stepAfter };
        });
      });
      const arrivals: Arrival[] = [];
      for (const pick of picks) {
        const open = perSource.filter((list) => list.length > 0);
        if (open.length === 0) break;
        arrivals.push((open[pick % open.length] as Arrival[]).shift() as Arrival);
      }
      return arrivals;
    });
}

/** Events with any times and sources: no contract at all. */
const anyOrder: fc.Arbitrary<Arrival[]> = fc.array(
  fc.record({
    timeMs: fc.integer({ min: 0, max: 600 * second }),
    levelNumber: fc.constantFrom(20, 20, 30, 40),
    service: fc.constantFrom<string | null>('nova', 'neutron', null),
    request: fc.constantFrom<string | null>('r0', 'r1', 'r2', null),
    source: fc.constantFrom('p0', 'p1'),
    bytes: fc.integer({ min: 1, max: 500 }),
    stepAfter: fc.boolean(),
  }),
  { maxLength: 80 },
).map((list) => list.map(({ stepAfter, ...fields }) => ({ event: event({ ...fields, level: fields.levelNumber >= 30 ? 'ERROR' : 'INFO' }), stepAfter })));

/** the sources that will deliver, as the stage expects the partitions assigned to it */
const sourcesOf = (arrivals: Arrival[]): string[] => [...new Set(arrivals.map((a) => a.event.source))];

function run(arrivals: Arrival[], settings: WindowSettings, afterStep: (window: ArchiveWindow<string>, released: ReleasedEvent<string>[]) => void = () => undefined): { window: ArchiveWindow<string>; released: ReleasedEvent<string>[] } {
  const window = new ArchiveWindow<string>(settings);
  window.expect(sourcesOf(arrivals), 0);
  const released: ReleasedEvent<string>[] = [];
  const step = (now: number) => {
    const out = window.step(now);
    released.push(...out);
    afterStep(window, out);
  };
  for (const { event: e, stepAfter } of arrivals) {
    window.observe(e, e.id, 0);
    if (stepAfter) step(0);
  }
  step(0);
  step(theEnd);
  return { window, released };
}

describe('the archive window', () => {
  test('within the lateness contract, every trigger gets exactly its context: itself, its request, the requests in flight on its service', () => {
    fc.assert(
      fc.property(withinContract(base.latenessMs), fc.constantFrom(30 * second, 60 * second, 90 * second), (arrivals, requestWindowMs) => {
        const settings = { ...base, requestWindowMs };
        const { window, released } = run(arrivals, settings);
        const expected = expectedArchive(arrivals.map((a) => a.event), settings);
        assert.deepEqual(released.map((r) => r.event.id).sort(), arrivals.map((a) => a.event.id).sort(), 'every event released exactly once');
        for (const r of released) assert.deepEqual(reasonsOf(r), expected.get(r.event.id) ?? new Map(), `event ${r.event.id} at ${r.event.timeMs}`);
        assert.equal(window.counters.late, 0);
        assert.equal(window.counters.evicted, 0);
        assert.equal(window.size, 0);
      }),
      { numRuns: 300 },
    );
  });

  test('a release never passes an event a trigger still needs: a released event is in no context of a trigger not yet evaluated', () => {
    fc.assert(
      fc.property(withinContract(base.latenessMs), (arrivals) => {
        const expected = expectedArchive(arrivals.map((a) => a.event), base);
        const evaluated = new Set<string>();
        run(arrivals, base, (_window, out) => {
          for (const r of out) for (const a of r.associations) evaluated.add(a.trigger.id);
          for (const r of out) {
            for (const triggerId of expected.get(r.event.id)?.keys() ?? []) assert.ok(evaluated.has(triggerId), `${r.event.id} released before trigger ${triggerId} was evaluated`);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  test('memory stays within the caps at every step, whatever the order; each event leaves once; what is archived is never outside its trigger\'s context', () => {
    fc.assert(
      fc.property(anyOrder, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 500, max: 3000 }), fc.integer({ min: 1, max: 4 }), (arrivals, maxEvents, maxBytes, maxTriggers) => {
        const settings = { ...base, maxBufferedEvents: maxEvents, maxBufferedBytes: maxBytes, maxTriggersPerEvent: maxTriggers };
        const expected = expectedArchive(arrivals.map((a) => a.event), settings);
        const { released } = run(arrivals, settings, (window) => {
          assert.ok(window.size <= maxEvents, `${window.size} events held, cap ${maxEvents}`);
          assert.ok(window.bytes <= maxBytes, `${window.bytes} bytes held, cap ${maxBytes}`);
        });
        assert.deepEqual(released.map((r) => r.event.id).sort(), arrivals.map((a) => a.event.id).sort());
        for (const r of released) {
          assert.ok(r.associations.length <= maxTriggers);
          for (const a of r.associations) assert.equal(expected.get(r.event.id)?.get(a.trigger.id), a.reason, `${r.event.id} archived for ${a.trigger.id} as ${a.reason}`);
          if (r.event.levelNumber >= 30) assert.ok(r.truncated || r.associations.some((a) => a.trigger.id === r.event.id && a.reason === 'trigger'), 'a trigger is always archived itself');
        }
      }),
      { numRuns: 300 },
    );
  });

  test('with more triggers than maxTriggersPerEvent an event keeps the closest ones (then by id) and says it was truncated', () => {
    fc.assert(
      fc.property(withinContract(base.latenessMs), fc.integer({ min: 1, max: 3 }), (arrivals, maxTriggers) => {
        const settings = { ...base, maxTriggersPerEvent: maxTriggers };
        const byId = new Map(arrivals.map((a) => [a.event.id, a.event]));
        const expected = expectedArchive(arrivals.map((a) => a.event), settings);
        const { released } = run(arrivals, settings);
        for (const r of released) {
          const all = [...(expected.get(r.event.id)?.keys() ?? [])].map((id) => ({ id, distance: Math.abs((byId.get(id) as WindowEvent).timeMs - r.event.timeMs) }));
          all.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : 1));
          assert.deepEqual(r.associations.map((a) => a.trigger.id), all.slice(0, maxTriggers).map((a) => a.id));
          assert.equal(r.truncated, all.length > maxTriggers);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('the commit gate never lets part of a context be committed while another part is not yet written', () => {
    fc.assert(
      fc.property(withinContract(base.latenessMs), (arrivals) => {
        const expected = expectedArchive(arrivals.map((a) => a.event), base);
        const members = new Map<string, Set<string>>();
        for (const [eventId, triggers] of expected) for (const triggerId of triggers.keys()) members.set(triggerId, (members.get(triggerId) ?? new Set()).add(eventId));
        const window = new ArchiveWindow<string>(base);
        window.expect(sourcesOf(arrivals), 0);
        const gate = new CommitGate<string>(2 * window.horizonMs);
        const written = new Set<string>();
        const committed = new Set<string>();
        const flush = (now: number) => {
          for (const r of window.step(now)) {
            if (r.associations.length === 0) committed.add(r.event.id);
            else {
              written.add(r.event.id);
              gate.hold(r.event.timeMs, r.event.id, r.handles);
            }
          }
          for (const id of gate.pass(window.releasedBelowMs)) committed.add(id);
          for (const group of members.values()) {
            if ([...group].some((id) => committed.has(id))) for (const id of group) assert.ok(written.has(id), `${id} not written while a co-member of its context is committed`);
          }
        };
        for (const { event: e, stepAfter } of arrivals) {
          window.observe(e, e.id, 0);
          if (stepAfter) flush(0);
        }
        flush(theEnd);
        flush(theEnd + 1);
        assert.equal(committed.size, arrivals.length, 'at the end everything is committed');
        assert.equal(gate.size, 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the commit gate', () => {
  test('an archived event at one edge of a context waits until the other edge, up to 2 × horizon later, is written', () => {
    const window = new ArchiveWindow<string>(base);
    window.expect(['p0'], 0);
    const gate = new CommitGate<string>(2 * window.horizonMs);
    const written = new Set<string>();
    const committed: string[] = [];
    // one request every 10 s; the ERROR at 1000 s wants everything from 940 s to 1060 s
    for (let t = 800; t <= 1300; t += 10) {
      window.observe(event({ id: `at-${t}`, timeMs: t * second, levelNumber: t === 1000 ? 40 : 20, request: 'r1' }), `at-${t}`, 0);
      for (const r of window.step(0)) {
        if (r.associations.length === 0) continue;
        written.add(r.event.id);
        gate.hold(r.event.timeMs, r.event.id, r.handles);
      }
      committed.push(...gate.pass(window.releasedBelowMs));
      if (committed.includes('at-940')) assert.ok(written.has('at-1060'), `at-940 committed at ${t} s before at-1060 was written`);
    }
    assert.deepEqual(committed.slice(0, 2), ['at-940', 'at-950']);
  });
});

describe('event time', () => {
  test('a partition that has not delivered holds event time back until it delivers or is quiet for idleMs', () => {
    const window = new ArchiveWindow<string>({ ...base, idleMs: 5 * second });
    window.expect(['p0', 'p1'], 0);
    window.observe(event({ timeMs: 100 * second, source: 'p0' }), 'a', 0);
    window.step(1000);
    assert.equal(window.frontierMs, Number.NEGATIVE_INFINITY, 'p1 has delivered nothing yet');
    window.observe(event({ timeMs: 50 * second, source: 'p1' }), 'b', 2000);
    window.step(2000);
    assert.equal(window.frontierMs, 50 * second, 'the lower of the two');
    window.observe(event({ timeMs: 200 * second, source: 'p0' }), 'c', 6000);
    window.step(7500);
    assert.equal(window.frontierMs, 200 * second, 'p1 quiet for 5.5 s no longer holds it back');
    window.step(20_000);
    assert.equal(window.frontierMs, 200 * second + 14_000, 'everything quiet: event time follows the wall clock from the newest event');
  });

  test('time the stage spent waiting for Elasticsearch does not make the partitions look quiet', () => {
    const window = new ArchiveWindow<string>({ ...base, idleMs: 5 * second });
    window.expect(['p0', 'p1'], 0);
    window.observe(event({ timeMs: 100 * second, source: 'p0' }), 'a', 0);
    window.observe(event({ timeMs: 90 * second, source: 'p1' }), 'b', 0);
    window.step(0);
    window.resume(60_000);
    window.step(61_000);
    assert.equal(window.frontierMs, 90 * second, 'a minute blocked in a write is not a minute of silence');
    window.step(66_000);
    assert.equal(window.frontierMs, 100 * second + 6000, 'quiet for 6 s after the write: now event time follows the wall clock');
  });

  test('an event further than the lateness behind event time is counted late; a second delivery of a held event joins it', () => {
    const window = new ArchiveWindow<string>(base);
    const first = event({ timeMs: 1000 * second });
    window.observe(first, 'a', 0);
    window.observe(event({ timeMs: 1040 * second }), 'b', 0);
    window.step(0);
    window.observe(event({ timeMs: 1040 * second - base.latenessMs - 1 }), 'c', 0);
    window.observe({ ...first }, 'a-again', 0);
    assert.equal(window.counters.late, 2, 'c and the second delivery of a are behind');
    assert.equal(window.counters.duplicates, 1);
    const released = [...window.step(0), ...window.step(theEnd)];
    assert.deepEqual(released.find((r) => r.event.id === first.id)?.handles, ['a', 'a-again']);
  });

  test('a trigger on one partition archives the requests in flight on its service read from another', () => {
    const window = new ArchiveWindow<string>(base);
    window.expect(['p0', 'p1'], 0);
    const t = 10_000 * second;
    const trigger = event({ timeMs: t, levelNumber: 40, level: 'ERROR', request: 'r1', source: 'p0' });
    const other = event({ timeMs: t - 30 * second, request: 'r2', source: 'p1' });
    const otherElsewhere = event({ timeMs: t + 40 * second, service: 'neutron', request: 'r2', source: 'p1' });
    const notInFlight = event({ timeMs: t + 10 * second, service: 'neutron', request: 'r3', source: 'p1' });
    for (const e of [trigger, other, otherElsewhere, notInFlight]) window.observe(e, e.id, 0);
    const released = [...window.step(0), ...window.step(theEnd)];
    const reasons = Object.fromEntries(released.map((r) => [r.event.id, r.associations.map((a) => a.reason).join()]));
    assert.deepEqual(reasons, { [trigger.id]: 'trigger', [other.id]: 'service-window', [otherElsewhere.id]: 'service-window', [notInFlight.id]: '' });
  });
});
