import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { IncomingMessage } from '../../../pipeline/bus/types.js';
import { TallyError } from '../../../pipeline/errors.js';
import { startConsumerStage } from '../../../pipeline/runtime/consumer-stage.js';
import { startOps, type Ops } from '../../../pipeline/runtime/ops.js';
import { backends, eventually, testBus, testLog, uniqueName } from '../../support/world.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function get(ops: Ops, path: string, method = 'GET'): Promise<{ status: number; type: string; text: string; json: () => Record<string, unknown> }> {
  const response = await fetch(`${ops.url}${path}`, { method });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** The value of one Prometheus sample line, by metric name and label text. */
function sample(text: string, metric: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('ops endpoints', () => {
  test('port 0 serves nothing; the handle still works', async () => {
    const ops = await startOps({ ops: { port: 0 }, log: testLog, stage: 'unit-off' });
    assert.equal(ops.url, undefined);
    ops.started();
    assert.equal(ops.readiness().ready, true);
    await ops.close();
  });

  test('/healthz is up from the start; /readyz says starting, ready, then stopping', async () => {
    const ops = await startOps({ ops: { port: await freePort() }, log: testLog, stage: 'unit-states' });
    try {
      const health = await get(ops, '/healthz');
      assert.equal(health.status, 200);
      assert.equal(health.json().status, 'up');
      assert.equal(health.json().stage, 'unit-states');
      const starting = await get(ops, '/readyz');
      assert.equal(starting.status, 503);
      assert.equal(starting.json().status, 'starting');
      ops.started();
      const ready = await get(ops, '/readyz');
      assert.equal(ready.status, 200);
      assert.equal(ready.json().status, 'ready');
      ops.draining();
      const stopping = await get(ops, '/readyz');
      assert.equal(stopping.status, 503);
      assert.equal(stopping.json().status, 'stopping');
      assert.equal((await get(ops, '/healthz')).status, 200, 'still up while draining');
      assert.equal((await get(ops, '/readyz', 'HEAD')).status, 503);
      assert.equal((await get(ops, '/nope')).status, 404);
      assert.equal((await get(ops, '/metrics', 'POST')).status, 405);
      const metrics = await get(ops, '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.type, /^text\/plain/);
      assert.match(metrics.text, /^tally_ready\{stage="unit-states"\} 0$/m);
      assert.match(metrics.text, /^tally_process_resident_memory_bytes /m, 'process metrics too');
    } finally {
      await ops.close();
    }
  });

  test('the endpoints alone never keep a process alive (a stage that failed to start still exits)', async () => {
    const module = new URL('../../../pipeline/runtime/ops.js', import.meta.url).href;
    const script = `const { startOps } = await import(${JSON.stringify(module)}); const ops = await startOps({ ops: { port: ${await freePort()} }, log: { info() {}, warn() {}, error() {} }, stage: 'x' }); process.stdout.write(ops.url);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    assert.match(out, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(code, 0, 'exited by itself');
  });

  test('a source with pending work that does not move turns /readyz 503 after stallTimeoutMs (fake clock), and back to 200 when it moves', async () => {
    let clock = 0;
    let stats = { sent: 0, read: 0, retries: 0 };
    const ops = await startOps({ ops: { port: await freePort(), stallTimeoutMs: 60_000, lagIntervalMs: 3_600_000 }, log: testLog, stage: 'unit-source', now: () => clock });
    try {
      ops.started({
        source: () => ({ position: stats.sent, pending: stats.read - stats.sent, failures: stats.retries }),
        counts: () => ({ kinds: { accounting: { in: stats.read, out: stats.sent, retried: stats.retries } } }),
      });
      stats = { sent: 0, read: 10, retries: 3 };
      clock = 1_000;
      await ops.poll();
      clock = 60_999;
      assert.equal((await get(ops, '/readyz')).status, 200);
      clock = 61_000;
      const stalled = await get(ops, '/readyz');
      assert.equal(stalled.status, 503);
      const body = stalled.json();
      assert.equal(body.status, 'stalled');
      assert.match(String((body.reasons as string[])[0]), /^unit-source work: 10 pending and no progress for 60 s/);
      const metrics = await get(ops, '/metrics');
      assert.equal(sample(metrics.text, 'tally_ready', 'stage="unit-source"'), 0);
      assert.equal(sample(metrics.text, 'tally_progress_stalled_seconds', 'stage="unit-source"'), 60);
      assert.equal(sample(metrics.text, 'tally_events_in_total', 'stage="unit-source",kind="accounting"'), 10);
      assert.equal(sample(metrics.text, 'tally_retries_total', 'stage="unit-source",kind="accounting"'), 3);
      stats = { sent: 10, read: 10, retries: 3 };
      await ops.poll();
      assert.equal((await get(ops, '/readyz')).status, 200);
    } finally {
      await ops.close();
    }
  });
});

describe('the watchdog (fake clock)', () => {
  async function stuckSource(watchdogMs: number, fired: TallyError[]): Promise<{ ops: Ops; at: (ms: number) => Promise<void> }> {
    let clock = 0;
    const ops = await startOps({ ops: { port: 0, stallTimeoutMs: 60_000, lagIntervalMs: 3_600_000, watchdogMs }, log: testLog, stage: 'unit-watchdog', now: () => clock, onWatchdog: (error) => fired.push(error) });
    ops.started({ source: () => ({ position: 0, pending: 7 }) });
    return {
      ops,
      async at(ms) {
        clock = ms;
        await ops.poll();
      },
    };
  }

  test('pending work that has not moved for watchdogMs fires it once, with STAGE_STALLED naming the stage and the stuck work', async () => {
    const fired: TallyError[] = [];
    const { ops, at } = await stuckSource(120_000, fired);
    try {
      // started() sampled the work at 0: the clock of the stall starts there
      await at(1_000);
      await at(119_999);
      assert.equal(fired.length, 0, 'not before watchdogMs');
      await at(120_000);
      assert.equal(fired.length, 1);
      assert.equal(fired[0]?.code, 'STAGE_STALLED');
      assert.match(fired[0]?.message ?? '', /^tally unit-watchdog made no progress for 120 s with work pending \(unit-watchdog work: 7 pending and no progress for 120 s.*exiting with code 75/);
      await at(500_000);
      assert.equal(fired.length, 1, 'once');
    } finally {
      await ops.close();
    }
  });

  test('watchdogMs 0 never fires', async () => {
    const fired: TallyError[] = [];
    const { ops, at } = await stuckSource(0, fired);
    try {
      await at(1_000);
      await at(10_000_000);
      assert.equal(fired.length, 0);
      assert.equal(ops.readiness().ready, false, 'the stall is still reported');
    } finally {
      await ops.close();
    }
  });
});

describe('ops on the real broker', { timeout: 180_000 }, () => {
  const stallTimeoutMs = 3_000;
  const lagIntervalMs = 250;

  async function topicWith(count: number): Promise<string> {
    const bus = testBus('kafkajs');
    const topic = uniqueName('ops-in');
    const admin = await bus.admin();
    await admin.createTopics([{ topic }]);
    await admin.close();
    if (count) {
      const producer = await bus.producer();
      await producer.send(Array.from({ length: count }, (_, i) => ({ topic, value: String(i) })));
      await producer.close();
    }
    return topic;
  }

  for (const backend of backends) test(`${backend}: a consumer stage whose handler blocks forever with lag: /readyz turns 503 after stallTimeoutMs and /metrics shows the lag`, async () => {
    const bus = testBus(backend);
    const topic = await topicWith(5);
    const groupId = uniqueName('ops-stuck');
    let unblock = (): void => undefined;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    let handed = 0;
    const ops = await startOps({ ops: { port: await freePort(), stallTimeoutMs, lagIntervalMs }, log: testLog, stage: 'ops-stuck' });
    const stage = await startConsumerStage({
      bus,
      log: testLog,
      groupId,
      topics: [topic],
      handle: async (messages: IncomingMessage[]) => {
        handed += messages.length;
        await blocked;
      },
    });
    try {
      ops.started({ consumer: { bus, groupId, topics: [topic], consumer: stage.consumer } });
      const startedAt = Date.now();
      await eventually('the batch is in the stuck handler', 30_000, () => (handed > 0 ? true : undefined));
      await eventually('lag seen', 30_000, async () => ((await get(ops, '/readyz')).json().probes as unknown[]).length > 0 || undefined);
      assert.equal((await get(ops, '/readyz')).status, 200, 'ready while the stall is younger than stallTimeoutMs');
      const stalled = await eventually('/readyz 503', 30_000, async () => {
        const r = await get(ops, '/readyz');
        return r.status === 503 ? r : undefined;
      });
      assert.ok(Date.now() - startedAt >= stallTimeoutMs, `not before stallTimeoutMs (after ${Date.now() - startedAt} ms)`);
      const body = stalled.json();
      assert.equal(body.status, 'stalled');
      assert.match(String((body.reasons as string[])[0]), new RegExp(`consumer group ${groupId} ${topic}/0: 5 pending and no progress`));
      const metrics = (await get(ops, '/metrics')).text;
      assert.equal(sample(metrics, 'tally_consumer_lag', `group="${groupId}",topic="${topic}",partition="0"`), 5);
      assert.equal(sample(metrics, 'tally_ready', 'stage="ops-stuck"'), 0);
      assert.ok((sample(metrics, 'tally_batch_age_seconds', `group="${groupId}"`) ?? 0) >= stallTimeoutMs / 1000, 'the batch in hand is as old as the stall');
      assert.ok((sample(metrics, 'tally_progress_stalled_seconds', 'stage="ops-stuck"') ?? 0) >= stallTimeoutMs / 1000);
    } finally {
      unblock();
      await stage.stop();
      await ops.close();
    }
  });

  test('a healthy consumer stage stays ready, busy and then idle for longer than stallTimeoutMs', async () => {
    const bus = testBus('kafkajs');
    const topic = await topicWith(50);
    const groupId = uniqueName('ops-healthy');
    let consumed = 0;
    const ops = await startOps({ ops: { port: await freePort(), stallTimeoutMs, lagIntervalMs }, log: testLog, stage: 'ops-healthy' });
    const stage = await startConsumerStage({
      bus,
      log: testLog,
      groupId,
      topics: [topic],
      handle: async (messages) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        consumed += messages.length;
      },
    });
    const producer = await bus.producer();
    try {
      ops.started({ consumer: { bus, groupId, topics: [topic], consumer: stage.consumer } });
      const statuses: number[] = [];
      const busyUntil = Date.now() + 1.5 * stallTimeoutMs;
      for (let i = 0; Date.now() < busyUntil; i += 1) {
        await producer.send([{ topic, value: `more ${i}` }]);
        statuses.push((await get(ops, '/readyz')).status);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await eventually('everything consumed and committed', 30_000, async () => {
        const metrics = (await get(ops, '/metrics')).text;
        return sample(metrics, 'tally_consumer_lag', `group="${groupId}",topic="${topic}"`) === 0 ? true : undefined;
      });
      const idleUntil = Date.now() + 1.5 * stallTimeoutMs;
      while (Date.now() < idleUntil) {
        statuses.push((await get(ops, '/readyz')).status);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(statuses.length > 30);
      assert.deepEqual([...new Set(statuses)], [200], 'never anything but ready');
      const metrics = (await get(ops, '/metrics')).text;
      assert.ok(consumed >= 50);
      assert.equal(sample(metrics, 'tally_batch_messages_total', `group="${groupId}"`), consumed);
      assert.ok((sample(metrics, 'tally_batches_total', `group="${groupId}"`) ?? 0) >= 1);
      assert.ok((sample(metrics, 'tally_batch_duration_seconds_count', `group="${groupId}"`) ?? 0) >= 1);
      assert.equal(sample(metrics, 'tally_batch_age_seconds', `group="${groupId}"`), 0);
      assert.equal(sample(metrics, 'tally_ready', 'stage="ops-healthy"'), 1);
    } finally {
      await producer.close();
      await stage.stop();
      await ops.close();
    }
  });

  test('a batch the stage fails to make durable is retried and counted by error code', async () => {
    const bus = testBus('kafkajs');
    const topic = await topicWith(3);
    const groupId = uniqueName('ops-retry');
    let attempts = 0;
    const stage = await startConsumerStage({
      bus,
      log: testLog,
      groupId,
      topics: [topic],
      maxBackoffMs: 50,
      handle: async () => {
        attempts += 1;
        if (attempts <= 2) throw new TallyError('ES_RETRIABLE', 'Elasticsearch answered 503');
      },
    });
    const ops = await startOps({ ops: { port: await freePort() }, log: testLog, stage: 'ops-retry' });
    try {
      await eventually('the batch went through', 30_000, async () => {
        const metrics = (await get(ops, '/metrics')).text;
        return (sample(metrics, 'tally_batches_total', `group="${groupId}"`) ?? 0) >= 1 ? metrics : undefined;
      }).then((metrics) => {
        assert.equal(sample(metrics, 'tally_batch_retries_total', `group="${groupId}",code="ES_RETRIABLE"`), 2);
      });
    } finally {
      await stage.stop();
      await ops.close();
    }
  });
});
