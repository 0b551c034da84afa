import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, freePort } from '../../support/world.js';
import { pipelineWorld, startStage } from '../../e2e/pipeline.js';

test('a long-running command serves /healthz, /readyz and Prometheus /metrics with --ops-port, and still drains to exit 0', { timeout: 120_000 }, async () => {
  const world = await pipelineWorld('ops');
  const port = await freePort();
  const stage = await startStage(world, ['--ops-port', String(port), 'transform'], /tally transform running/);
  try {
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    await eventually('ready', 30_000, async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^# TYPE tally_events_in_total counter$/m);
    assert.match(metrics, /tally_ready\{stage="transform"\} 1/);
  } finally {
    assert.equal(await stage.kill('SIGTERM'), 0);
  }
});
