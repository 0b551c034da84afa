import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin, Bus, PartitionOffsets, TopicPartition } from '../../../pipeline/bus/types.js';
import { metricsRegistry } from '../../../pipeline/runtime/metrics.js';
import { StallDetector, consumerProgress, sourceProgress, type ProgressSample } from '../../../pipeline/runtime/progress.js';

const minute = 60_000;
const timeout = 5 * minute;

/** A detector over one probe whose samples the test sets, on a clock the test moves. */
function world(): { detector: StallDetector; at: (ms: number) => void; set: (...samples: ProgressSample[]) => void; fail: (error?: Error) => void; poll: () => Promise<unknown> } {
  let clock = 1_000_000;
  let samples: ProgressSample[] = [];
  let failure: Error | undefined;
  const detector = new StallDetector(
    [
      {
        name: 'p',
        sample: () => {
          if (failure) throw failure;
          return samples;
        },
      },
    ],
    timeout,
    () => clock,
  );
  return {
    detector,
    at: (ms) => (clock = 1_000_000 + ms),
    set: (...next) => {
      samples = next;
      failure = undefined;
    },
    fail: (error = new Error('broker unreachable')) => (failure = error),
    poll: () => detector.poll(),
  };
}

describe('stall detector (fake clock)', () => {
  test('idle work never stalls, however long the position stays put', async () => {
    const w = world();
    w.set({ key: 'raw/0', position: '10', pending: 0 });
    for (let t = 0; t <= 60 * minute; t += minute) {
      w.at(t);
      await w.poll();
      assert.equal(w.detector.report().stalled, false, `at ${t / minute} min`);
    }
  });

  test('pending work whose position does not move stalls exactly at stallTimeoutMs', async () => {
    const w = world();
    w.set({ key: 'raw/0', position: '10', pending: 7 });
    await w.poll();
    w.at(timeout - 1);
    await w.poll();
    assert.equal(w.detector.report().stalled, false);
    assert.equal(w.detector.report().probes[0]?.stalledForMs, timeout - 1);
    w.at(timeout);
    assert.equal(w.detector.report().stalled, true, 'the report reads the clock, not only the last poll');
    assert.deepEqual(w.detector.report().probes[0], { probe: 'p', key: 'raw/0', pending: 7, failures: 0, stalledForMs: timeout, stalled: true });
  });

  test('the clock starts when work appears, not when the position last moved', async () => {
    const w = world();
    w.set({ key: 'raw/0', position: '10', pending: 0 });
    await w.poll();
    w.at(30 * minute);
    w.set({ key: 'raw/0', position: '10', pending: 3 });
    await w.poll();
    w.at(30 * minute + timeout - 1);
    assert.equal(w.detector.report().stalled, false);
    w.at(30 * minute + timeout);
    assert.equal(w.detector.report().stalled, true);
  });

  test('a position that keeps moving is progress, however large the lag', async () => {
    const w = world();
    for (let i = 0; i <= 30; i += 1) {
      w.at(i * minute);
      w.set({ key: 'raw/0', position: String(i * 100), pending: 1_000_000 });
      await w.poll();
      assert.equal(w.detector.report().stalled, false);
    }
    w.at(30 * minute + timeout);
    assert.equal(w.detector.report().stalled, true, 'and once it stops, the clock runs from its last move');
  });

  test('going idle clears a stall; new work starts a fresh clock', async () => {
    const w = world();
    w.set({ key: 'raw/0', position: '10', pending: 2 });
    await w.poll();
    w.at(timeout);
    assert.equal(w.detector.report().stalled, true);
    w.set({ key: 'raw/0', position: '12', pending: 0 });
    await w.poll();
    assert.equal(w.detector.report().stalled, false);
    w.at(timeout + minute);
    w.set({ key: 'raw/0', position: '12', pending: 1 });
    await w.poll();
    w.at(2 * timeout);
    assert.equal(w.detector.report().stalled, false);
    w.at(2 * timeout + minute);
    assert.equal(w.detector.report().stalled, true);
  });

  test('failures since the position last moved are pending work (a source retrying a send)', async () => {
    const w = world();
    w.set({ key: 'files', position: 100, failures: 4 });
    await w.poll();
    w.at(timeout * 2);
    await w.poll();
    assert.equal(w.detector.report().stalled, false, 'old failures are not pending work');
    w.set({ key: 'files', position: 100, failures: 5 });
    w.at(timeout * 3);
    await w.poll();
    w.at(timeout * 4 - 1);
    assert.equal(w.detector.report().stalled, false);
    w.at(timeout * 4);
    assert.equal(w.detector.report().stalled, true);
    assert.equal(w.detector.report().probes[0]?.failures, 1);
    w.set({ key: 'files', position: 101, failures: 5 });
    await w.poll();
    assert.equal(w.detector.report().stalled, false, 'the position moved: the failures before it no longer count');
  });

  test('a probe that cannot be read keeps its last state: pending work goes on stalling, idle stays ready', async () => {
    const w = world();
    w.set({ key: 'raw/0', position: '10', pending: 5 });
    await w.poll();
    w.fail();
    w.at(minute);
    const failures = (await w.poll()) as { probe: string; first: boolean }[];
    assert.deepEqual(failures.map((f) => [f.probe, f.first]), [['p', true]]);
    w.at(2 * minute);
    assert.equal(((await w.poll()) as { first: boolean }[])[0]?.first, false, 'only the first failure in a row is "first"');
    w.at(timeout);
    const report = w.detector.report();
    assert.equal(report.stalled, true);
    assert.deepEqual(report.errors, [{ probe: 'p', error: 'broker unreachable', sinceMs: timeout - minute }]);

    const idle = world();
    idle.set({ key: 'raw/0', position: '10', pending: 0 });
    await idle.poll();
    idle.fail();
    idle.at(3 * timeout);
    await idle.poll();
    assert.equal(idle.detector.report().stalled, false);
    assert.equal(idle.detector.report().errors.length, 1);
  });

  test('keys the probe stops reporting are forgotten; a key that comes back starts a fresh clock (a rebalance)', async () => {
    const w = world();
    w.set({ key: 'raw/0', position: '1', pending: 5 }, { key: 'raw/1', position: '1', pending: 5 });
    await w.poll();
    w.at(timeout - minute);
    w.set({ key: 'raw/1', position: '1', pending: 5 });
    await w.poll();
    assert.deepEqual(w.detector.report().probes.map((p) => p.key), ['raw/1']);
    w.set({ key: 'raw/0', position: '1', pending: 5 }, { key: 'raw/1', position: '1', pending: 5 });
    await w.poll();
    w.at(timeout);
    const report = w.detector.report();
    assert.deepEqual(report.probes.map((p) => [p.key, p.stalled]), [['raw/0', false], ['raw/1', true]]);
  });

  test('one stalled partition is enough, even while another moves', async () => {
    const w = world();
    for (let i = 0; i <= 6; i += 1) {
      w.at(i * minute);
      w.set({ key: 'raw/0', position: String(i), pending: 10 }, { key: 'raw/1', position: '0', pending: 10 });
      await w.poll();
    }
    const report = w.detector.report();
    assert.equal(report.stalled, true);
    assert.deepEqual(report.probes.filter((p) => p.stalled).map((p) => p.key), ['raw/1']);
  });

  test('a poll still running is joined, not started twice', async () => {
    let calls = 0;
    let release = (): void => undefined;
    const detector = new StallDetector([{ name: 'slow', sample: () => new Promise<ProgressSample[]>((resolve) => { calls += 1; release = () => resolve([]); }) }], timeout);
    const first = detector.poll();
    const second = detector.poll();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(first, second);
    release();
    await first;
    assert.equal(calls, 1);
  });

  test('sourceProgress reads the source each time it is sampled', async () => {
    let done = 0;
    const probe = sourceProgress('ship', () => ({ position: done, pending: 3 }));
    assert.deepEqual(await probe.sample(), [{ key: 'work', position: 0, pending: 3 }]);
    done = 5;
    assert.deepEqual(await probe.sample(), [{ key: 'work', position: 5, pending: 3 }]);
  });
});

describe('consumerProgress (fake admin)', () => {
  function fakeBus(offsets: Record<string, PartitionOffsets[]>, counters: { admins: number; closed: number; fail?: boolean }): Bus {
    const admin: Admin = {
      createTopics: async () => undefined,
      deleteTopics: async () => undefined,
      listTopics: async () => Object.keys(offsets),
      partitionCount: async (topic) => offsets[topic]?.length ?? 0,
      groupOffsets: async (_group, topic) => {
        if (counters.fail) throw new Error('no broker');
        return offsets[topic] ?? [];
      },
      close: async () => {
        counters.closed += 1;
      },
    };
    return {
      backend: 'kafkajs',
      topic: (name) => name,
      producer: () => Promise.reject(new Error('not here')),
      transactionalProducer: () => Promise.reject(new Error('not here')),
      consumer: () => Promise.reject(new Error('not here')),
      admin: async () => {
        counters.admins += 1;
        return admin;
      },
    };
  }
  const offsets = {
    'raw.a': [
      { partition: 0, committed: '5', end: '9', lag: 4 },
      { partition: 1, committed: '-1', end: '3', lag: 3 },
    ],
    'raw.b': [{ partition: 0, committed: '2', end: '2', lag: 0 }],
  };

  test('judges the partitions assigned to this process; sets the lag gauge for every partition', async () => {
    const counters = { admins: 0, closed: 0 };
    let assignment: TopicPartition[] = [{ topic: 'raw.a', partition: 1 }];
    const group = 'unit-lag-group';
    const probe = consumerProgress({ bus: fakeBus(offsets, counters), groupId: group, topics: ['raw.a', 'raw.b'], consumer: { assignment: () => assignment } });
    assert.deepEqual(await probe.sample(), [{ key: 'raw.a/1', position: '-1', pending: 3 }]);
    const text = await metricsRegistry.getSingleMetricAsString('tally_consumer_lag');
    assert.match(text, new RegExp(`tally_consumer_lag\\{group="${group}",topic="raw.a",partition="0"\\} 4`));
    assert.match(text, new RegExp(`tally_consumer_lag\\{group="${group}",topic="raw.a",partition="1"\\} 3`));
    assert.match(text, new RegExp(`tally_consumer_lag\\{group="${group}",topic="raw.b",partition="0"\\} 0`));

    assignment = [];
    assert.deepEqual((await probe.sample()).map((s) => s.key), ['raw.a/0', 'raw.a/1', 'raw.b/0'], 'no assignment: the whole group is judged');
    assert.equal(counters.admins, 1, 'one admin client for every sample');
    await probe.close?.();
    assert.equal(counters.closed, 1);
    assert.doesNotMatch(await metricsRegistry.getSingleMetricAsString('tally_consumer_lag'), new RegExp(group), 'closing removes its lag series');
  });

  test('a failed read drops the admin client; the next sample opens a new one', async () => {
    const counters = { admins: 0, closed: 0, fail: true };
    const probe = consumerProgress({ bus: fakeBus(offsets, counters), groupId: 'g', topics: ['raw.a'] });
    await assert.rejects(Promise.resolve(probe.sample()), /no broker/);
    counters.fail = false;
    assert.equal((await probe.sample()).length, 2);
    assert.equal(counters.admins, 2);
    await probe.close?.();
  });
});
