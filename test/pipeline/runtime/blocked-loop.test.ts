import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const moduleUrl = new URL('../../../pipeline/runtime/blocked-loop.js', import.meta.url).href;

/** A node process that watches its own loop with blockedMs, then runs `then` (module code). */
function child(blockedMs: number, then: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; ms: number }> {
  const script = `import { watchEventLoop } from ${JSON.stringify(moduleUrl)};\nconst watch = watchEventLoop('transform', ${blockedMs});\n${then}`;
  const started = Date.now();
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal, stderr, ms: Date.now() - started })));
}

describe('the event-loop watchdog (ops.blockedLoopMs)', { timeout: 120_000 }, () => {
  test('a main thread blocked in a call that never returns is ended with SIGKILL, after a line naming EVENT_LOOP_BLOCKED and the stage', async () => {
    // Atomics.wait blocks the main thread as a native call stuck on a lock does (no CPU, no JavaScript)
    const run = await child(1000, 'setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000), 300);');
    assert.equal(run.signal, 'SIGKILL', `ended by ${run.signal ?? `exit code ${run.code}`}: ${run.stderr}`);
    assert.ok(run.ms < 50_000, `ended after ${run.ms} ms, not when the 60 s wait ran out`);
    const line = JSON.parse(run.stderr.trim().split('\n').at(-1) ?? '{}') as { code?: string; stage?: string; msg?: string };
    assert.equal(line.code, 'EVENT_LOOP_BLOCKED');
    assert.equal(line.stage, 'transform');
    assert.match(line.msg ?? '', /event loop has not turned for \d+ s/);
  });

  test('a loop that keeps turning, even busy in bursts shorter than blockedMs, is left alone; stop() lets the process end by itself', async () => {
    const run = await child(2000, `const until = Date.now() + 4000;
      const burst = () => { const end = Date.now() + 300; while (Date.now() < end); if (Date.now() < until) setTimeout(burst, 10); else void watch.stop(); };
      burst();`);
    assert.equal(run.signal, null, run.stderr);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /EVENT_LOOP_BLOCKED/);
  });
});
