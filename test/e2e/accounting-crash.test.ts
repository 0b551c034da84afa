import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LumberjackClient } from '../../connectors/sources/beats/client.js';
import type { Admin, Bus } from '../../pipeline/bus/types.js';
import { createBus } from '../../pipeline/bus/index.js';
import { readTopicToEnd } from '../../pipeline/bus/read-topic.js';
import { esClient, eventually, freePort, testConfig, testLog, whileProgressing } from '../support/world.js';
import { caughtUp, extendConfig, pipelineWorld, startStage, topicSize, withStageOutputs, type PipelineWorld, type StageProcess } from './pipeline.js';

/**
 * SIGKILL one stage in the middle of a 100k-line accounting run, restart it, and check that
 * Elasticsearch ends with exactly the expected documents: the count, and two sums that a missing
 * line plus a doubled one cannot both keep (value = i, duration_ms = i²).
 */
const total = 100_000;
const invalidEvery = 997;
const base = Date.UTC(2026, 10, 1);

function line(i: number): string {
  if (i % invalidEvery === 0) return JSON.stringify({ timestamp: new Date(base).toISOString(), serviceid: 'svc', level: 'accounting', userid: `u${i % 13}`, resource: `job/${i}`, action: 'run', value: `${i},5` });
  return JSON.stringify({ timestamp: new Date(base + i * 1000).toISOString(), serviceid: `svc-${i % 5}`, level: 'accounting', userid: `u${i % 13}`, resource: `job/${i}`, action: 'run', value: i, measure: 'time', starttime: new Date(base).toISOString(), endtime: new Date(base + i * i).toISOString() });
}

const valid = Array.from({ length: total }, (_, i) => i).filter((i) => i % invalidEvery !== 0);
const expected = { count: valid.length, value: valid.reduce((s, i) => s + i, 0), duration: valid.reduce((s, i) => s + i * i, 0) };
const invalidCount = total - valid.length;

async function esTotals(world: PipelineWorld): Promise<{ count: number; value: number; duration: number }> {
  const client = esClient();
  try {
    const index = `${world.indexPrefix}accounting-usage-*`;
    await client.indices.refresh({ index, allow_no_indices: true });
    const response = await client.search({ index, size: 0, allow_no_indices: true, track_total_hits: true, aggs: { value: { sum: { field: 'value' } }, duration: { sum: { field: 'duration_ms' } } } });
    const aggs = response.aggregations as Record<string, { value: number }> | undefined;
    const hits = response.hits.total;
    return { count: typeof hits === 'number' ? hits : (hits?.value ?? 0), value: aggs?.value?.value ?? 0, duration: aggs?.duration?.value ?? 0 };
  } finally {
    await client.close();
  }
}

/** Filebeat's behaviour: a window not acknowledged is sent again on a new connection. */
async function sendOverBeats(port: number, lines: string[], windowSize: number): Promise<{ resent: number }> {
  let client: LumberjackClient | undefined;
  let resent = 0;
  for (let i = 0; i < lines.length; i += windowSize) {
    const window = lines.slice(i, i + windowSize).map((message, j) => ({ '@timestamp': new Date().toISOString(), message, log: { file: { path: '/data/usage.json' }, offset: i + j }, input: { type: 'log' }, host: { name: 'fb-1' }, agent: { type: 'filebeat' } }));
    for (let attempt = 0; ; attempt += 1) {
      try {
        client ??= await LumberjackClient.connect({ host: '127.0.0.1', port, ackTimeoutMs: 30_000 });
        await client.send(window);
        break;
      } catch {
        client?.close();
        client = undefined;
        if (attempt > 0) resent += 1;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
  client?.close();
  return { resent };
}

type Victim = 'ship' | 'beats' | 'transform' | 'sink';

for (const victim of ['ship', 'beats', 'transform', 'sink'] as Victim[]) {
  describe(`SIGKILL of ${victim} in the middle of a ${total}-line run`, { timeout: 1_500_000 }, () => {
    const stages: StageProcess[] = [];
    const admins: Admin[] = [];
    after(async () => {
      for (const stage of stages) await stage.kill('SIGKILL');
      for (const admin of admins) await admin.close().catch(() => undefined);
    });

    test(`restarting ${victim} ends with exactly the expected documents in Elasticsearch: none missing, none doubled`, async () => {
      const beatsPort = await freePort();
      const world = await pipelineWorld(`crash-${victim}`);
      const groups = { transform: `${world.topicPrefix}transform`, sink: `${world.topicPrefix}sink` };
      const file = path.join(world.dir, 'usage.json');
      const extra = {
        ship: { inputs: [{ paths: [path.join(world.dir, '*.json')], kind: 'accounting', registryPath: path.join(world.dir, 'state', 'registry.json') }] },
        beats: { host: '127.0.0.1', port: beatsPort, kind: 'accounting' },
        transform: { groupId: groups.transform },
        sinks: { elasticsearch: { groupId: groups.sink } },
      };
      await extendConfig(world, extra);
      const bus: Bus = createBus(testConfig([`kafka.topicPrefix=${world.topicPrefix}`]).kafka, testLog);
      const admin = await bus.admin();
      admins.push(admin);
      const raw = bus.topic('raw.accounting');
      const usage = bus.topic('accounting.usage');
      const lines = Array.from({ length: total }, (_, i) => line(i));
      const started = Date.now();

      const sourceArgs = victim === 'beats' ? ['beats'] : ['ship'];
      const source = await startStage(world, sourceArgs, victim === 'beats' ? /tally beats listening/ : /tally ship:/);
      stages.push(source);
      const transform = await startStage(world, ['transform'], /tally transform running/);
      stages.push(transform);
      const sink = await startStage(world, ['sink', 'elasticsearch'], /tally sink elasticsearch:/);
      stages.push(sink);

      const sending = victim === 'beats' ? sendOverBeats(beatsPort, lines, 2048) : writeFile(file, `${lines.join('\n')}\n`).then(() => ({ resent: 0 }));
      const killAt = 30_000 + Math.floor(Math.random() * 30_000);
      const running: Record<Victim, StageProcess> = { ship: source, beats: source, transform, sink };
      await eventually(`${victim} well into the run`, 240_000, async () => {
        const progress = victim === 'transform' ? await topicSize(admin, usage) : victim === 'sink' ? (await esTotals(world)).count : await topicSize(admin, raw);
        return progress >= killAt ? true : undefined;
      });
      await running[victim].kill('SIGKILL');
      const restarted = await startStage(world, victim === 'sink' ? ['sink', 'elasticsearch'] : [victim], /tally (ship:|beats listening|transform running|sink elasticsearch:)/);
      stages.push(restarted);
      const { resent } = await sending;

      // as long as documents keep arriving: a fresh-clone run on a machine at load 60 was still indexing after 300 s
      const indexed = whileProgressing('every valid line indexed', 180_000, 900_000, async () => {
        const totals = await esTotals(world);
        if (totals.count >= expected.count) return { done: totals, progress: totals.count, detail: 'all indexed' };
        const [rawSize, usageSize] = [await topicSize(admin, raw), await topicSize(admin, usage)];
        return { progress: totals.count + rawSize + usageSize, detail: `${totals.count} of ${expected.count} documents indexed; raw.accounting holds ${rawSize}, accounting.usage ${usageSize}` };
      });
      await withStageOutputs(stages, indexed.then(() => caughtUp(admin, groups.transform, raw, 120_000)).then(() => caughtUp(admin, groups.sink, usage, 120_000)));
      const totals = await esTotals(world);
      assert.deepEqual(totals, expected, 'exactly the expected documents: count, sum of values, sum of durations');
      // records, not offsets: the transform's transactions (exactly-once, the default) leave commit markers
      const letters = await readTopicToEnd(bus, bus.topic('dlq.accounting'), () => undefined);
      assert.ok(letters >= invalidCount, `every invalid line is in the DLQ (${letters} of ${invalidCount})`);
      const rawCount = await topicSize(admin, raw);
      process.stdout.write(`# SIGKILL ${victim} at ${killAt} progress: ${rawCount - total} raw events sent again${resent ? ` (${resent} windows resent)` : ''}, ${totals.count} documents = expected, ${letters} dead letters for ${invalidCount} invalid lines, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      for (const stage of [restarted, ...stages.filter((s) => s !== running[victim])]) assert.equal(await stage.kill('SIGTERM'), 0, 'each stage drains and exits 0 on SIGTERM');
    });
  });
}
