import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBus } from '../../pipeline/bus/index.js';
import type { Bus } from '../../pipeline/bus/types.js';
import { buildEnvelope } from '../../pipeline/envelope.js';
import { startEsProxy, type EsProxy } from '../faults/es-proxy.js';
import { esClient, eventually, freePort, testConfig, testLog } from '../support/world.js';
import { caughtUp, extendConfig, pipelineWorld, startStage, type PipelineWorld, type StageProcess } from './pipeline.js';

/**
 * Progress made impossible for real: Elasticsearch (behind a proxy) answers 503 to every bulk
 * request, so `tally sink elasticsearch` can neither index nor commit, and its lag on
 * accounting.usage cannot move. /readyz must say so after ops.stallTimeoutMs and turn 200 once the
 * cluster takes documents again; with ops.watchdogMs the stage must exit 75 for its supervisor, and
 * started again it must index everything.
 */
const lines = 60;
const stallTimeoutMs = 2000;

interface StuckWorld {
  world: PipelineWorld;
  bus: Bus;
  proxy: EsProxy;
  groupId: string;
  topic: string;
  close(): Promise<void>;
}

async function stuckWorld(name: string, watchdogMs: number): Promise<StuckWorld> {
  const config = testConfig();
  const proxy = await startEsProxy(config.elasticsearch.url, Math.random);
  const groupId = `${name}-sink-${Date.now()}`;
  const world = await pipelineWorld(name, { ops: { stallTimeoutMs, lagIntervalMs: 300, watchdogMs }, transform: { groupId: `${name}-transform-${Date.now()}`, kinds: ['accounting'] }, sinks: { elasticsearch: { groupId, topics: ['accounting.usage'] } } });
  await extendConfig(world, { elasticsearch: { url: proxy.url, indexPrefix: world.indexPrefix } });
  const bus = createBus({ ...config.kafka, topicPrefix: world.topicPrefix }, testLog);
  const raw = bus.topic('raw.accounting');
  const producer = await bus.producer();
  await producer.send(
    Array.from({ length: lines }, (_, i) => ({
      topic: raw,
      key: `stall-${i}`,
      value: JSON.stringify(buildEnvelope({ inputType: 'filestream', path: '/var/log/neanias/stall.json', offset: i * 200, message: JSON.stringify({ timestamp: '2026-11-02T09:00:00Z', serviceid: 'neanias-stall', level: 'accounting', userid: `user-${i}`, resource: `job/stall-${i}`, action: 'run', value: i + 1 }) })),
    })),
  );
  await producer.close();
  const transform = await startStage(world, ['transform'], /tally transform running/, 120_000);
  proxy.setRefusing(true);
  return {
    world,
    bus,
    proxy,
    groupId,
    topic: bus.topic('accounting.usage'),
    async close() {
      await transform.kill('SIGTERM');
      await proxy.close();
    },
  };
}

async function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function sink(world: PipelineWorld): Promise<{ stage: StageProcess; port: number }> {
  const port = await freePort();
  return { stage: await startStage(world, ['sink', 'elasticsearch', '--ops-port', String(port)], /tally sink elasticsearch:/, 120_000), port };
}

async function indexedAll(stuck: StuckWorld): Promise<void> {
  const admin = await stuck.bus.admin();
  try {
    await caughtUp(admin, stuck.groupId, stuck.topic, 120_000);
  } finally {
    await admin.close();
  }
  const es = esClient();
  try {
    await es.indices.refresh({ index: `${stuck.world.indexPrefix}*` });
    const { count } = await es.count({ index: `${stuck.world.indexPrefix}accounting-usage*` });
    assert.equal(count, lines, 'every line indexed once');
  } finally {
    await es.close();
  }
}

describe('a stage that cannot progress: /readyz and the watchdog, on the real broker and Elasticsearch', { timeout: 300_000 }, () => {
  test('sink elasticsearch against a cluster refusing every bulk: /readyz 503 naming the stuck partitions after ops.stallTimeoutMs, 200 again once it indexes', async () => {
    const stuck = await stuckWorld('stall-readyz', 0);
    const { stage, port } = await sink(stuck.world);
    try {
      const stalled = await eventually('/readyz 503', 120_000, async () => {
        const r = await readyz(port);
        return r.status === 503 ? r : undefined;
      });
      assert.equal(stalled.body.status, 'stalled');
      const reasons = (stalled.body.reasons as string[]).join('; ');
      assert.match(reasons, new RegExp(`consumer group ${stuck.groupId} ${stuck.topic.replace(/\./g, '\\.')}/[01]: \\d+ pending and no progress for \\d+ s`));
      assert.ok(stuck.proxy.stats.whole503 > 0, 'the sink did try');
      stuck.proxy.setRefusing(false);
      await eventually('/readyz 200 again', 120_000, async () => ((await readyz(port)).status === 200 ? true : undefined));
      await indexedAll(stuck);
      assert.equal(stage.proc.exitCode, null, 'the stage kept running: the watchdog is off (ops.watchdogMs 0)');
    } finally {
      await stage.kill('SIGTERM');
      await stuck.close();
    }
  });

  test('with ops.watchdogMs the stuck sink exits 75 saying STAGE_STALLED; started again (as a supervisor would) it indexes everything', async () => {
    const watchdogMs = 6000;
    const stuck = await stuckWorld('stall-watchdog', watchdogMs);
    try {
      const startedAt = Date.now();
      const { stage } = await sink(stuck.world);
      const code = await eventually('the watchdog ends the stage', 120_000, () => (stage.proc.exitCode ?? undefined));
      assert.equal(code, 75, `exit code 75 (output: ${stage.output().slice(-1500)})`);
      assert.ok(Date.now() - startedAt >= watchdogMs, 'not before ops.watchdogMs');
      assert.match(stage.output(), /STAGE_STALLED/);
      assert.match(stage.output(), /tally sink-elasticsearch made no progress for 6 s with work pending/);
      stuck.proxy.setRefusing(false);
      const again = await sink(stuck.world);
      try {
        await indexedAll(stuck);
      } finally {
        await again.stage.kill('SIGTERM');
      }
    } finally {
      await stuck.close();
    }
  });
});
