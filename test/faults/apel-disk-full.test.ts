import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, readdir, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually } from '../support/world.js';
import { FaultPipeline, asRoot, faultTrials, writeFaultResult, type FaultResult } from './apel-support.js';

/**
 * apel-disk-full: the filesystem of the APEL queue fills up (ENOSPC) while records arrive. The
 * queue lives on a 4 MiB tmpfs made for this test (mount needs root; without it the test is
 * skipped, saying so); a filler file takes the free space and is deleted to end the fault.
 * ssmsend's loop is held meanwhile, since each element it removes frees space.
 */
const trials = faultTrials();

async function fill(file: string): Promise<number> {
  const handle = await open(file, 'a');
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  let written = 0;
  try {
    for (;;) {
      try {
        written += (await handle.write(chunk)).bytesWritten;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
    // the last partial block
    for (let size = 8192; size >= 1; size = Math.floor(size / 2)) {
      try {
        written += (await handle.write(chunk.subarray(0, size))).bytesWritten;
      } catch {
        // full
      }
    }
  } finally {
    await handle.close();
  }
  return written;
}

async function temporaries(queue: string): Promise<number> {
  let n = 0;
  for (const dir of await readdir(queue).catch(() => [] as string[])) n += (await readdir(path.join(queue, dir)).catch(() => [] as string[])).filter((f) => f.endsWith('.tmp')).length;
  return n;
}

describe('fault apel-disk-full: the APEL queue\'s filesystem full (ENOSPC), then space again', { timeout: 120_000 + trials * 60_000 }, () => {
  let pipeline: FaultPipeline | undefined;
  let mountPoint: string | undefined;
  let skipReason: string | undefined;
  before(async () => {
    mountPoint = await mkdtemp(path.join(tmpdir(), 'apel-fault-tmpfs-'));
    const mounted = asRoot ? spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0755', 'tally-apel-fault', mountPoint], { encoding: 'utf8' }) : undefined;
    if (!mounted || mounted.status !== 0) {
      skipReason = `needs a small filesystem of its own: mount -t tmpfs ${asRoot ? `failed (${mounted?.stderr.trim()})` : 'needs root'}`;
      return;
    }
    pipeline = await FaultPipeline.start({ name: 'disk-full', queueParent: mountPoint });
  });
  after(async () => {
    await pipeline?.stop();
    if (mountPoint && !skipReason) spawnSync('umount', [mountPoint]);
    if (mountPoint) await rmdir(mountPoint).catch(() => undefined);
  });

  test(`${trials} trials: the sink stalls without committing, says why, is not ready, and recovers by itself`, async (t) => {
    if (!pipeline || !mountPoint) {
      process.stdout.write(`# SKIP apel-disk-full: ${skipReason}\n`);
      t.skip(skipReason);
      return;
    }
    const result: FaultResult = { fault: 'apel-disk-full', description: 'the filesystem of the APEL outgoing queue (a 4 MiB tmpfs) filled up by another file while records arrive, then the file deleted', trials, lost: 0, doubled: 0, validInDlq: 0, recoverySeconds: [], notes: [] };
    const sink = pipeline.stage('sink-apel');
    const errors = (): number => (sink.output().match(/cannot write APEL messages into [^ ]+: ENOSPC on /g) ?? []).length;
    const filler = path.join(mountPoint, 'filler');
    let unrecovered = 0;
    let notReadySeen = 0;
    let readyAgain = 0;
    let leftTemporaries = 0;
    for (let i = 0; i < trials; i += 1) {
      const trial = pipeline.newTrial();
      await pipeline.shipSnapshot(trial);
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1500));
      const before = errors();
      pipeline.pauseDrainer(true);
      await fill(filler);
      await pipeline.shipSnapshot(trial);
      await eventually(`trial ${i}: the sink reporting ENOSPC with the path`, 60_000, () => (errors() > before ? true : undefined));
      const notReady = await eventually(`trial ${i}: /readyz not ready while stalled`, 20_000, async () => ((await pipeline?.readyz()) === 503 ? true : undefined)).catch(() => false);
      if (notReady) notReadySeen += 1;
      leftTemporaries += await temporaries(pipeline.queue);
      const fixedAt = Date.now();
      await rm(filler);
      pipeline.pauseDrainer(false);
      const seconds = await pipeline.recovered(fixedAt);
      if (seconds === undefined) unrecovered += 1;
      else result.recoverySeconds.push(seconds);
      if (await eventually(`trial ${i}: /readyz ready again`, 20_000, async () => ((await pipeline?.readyz()) === 200 ? true : undefined)).catch(() => false)) readyAgain += 1;
      leftTemporaries += await temporaries(pipeline.queue);
      assert.ok(sink.running(), 'the sink keeps running');
    }
    const counted = await pipeline.tally();
    const letters = await pipeline.deadLetters(['accounting', 'caso-json']);
    Object.assign(result, { lost: counted.lost, doubled: counted.doubled, validInDlq: letters.length });
    const sample = /"msg":"(cannot write APEL messages into [^"]*ENOSPC[^"]*)"/.exec(sink.output())?.[1] ?? '';
    result.notes.push(
      'a real full filesystem: a 4 MiB tmpfs mounted for the test (as root), filled by a filler file until write() gave ENOSPC; ssmsend\'s loop held during the fault (its removals free space)',
      `every trial: the sink logged ENOSPC with the path and the remedy, e.g. "${sample.slice(0, 400)}"`,
      `/readyz answered 503 during the fault in ${notReadySeen}/${trials} trials (ops.stallTimeoutMs 1500) and 200 again after it in ${readyAgain}/${trials}`,
      `a write cut by ENOSPC leaves no .tmp behind (${leftTemporaries} seen during and after the faults); ${pipeline.elementsRead} elements read by ssmsend's loop, ${pipeline.halfVisible} not whole; latest snapshot last for every VM but ${counted.outOfOrder}`,
      `no restart: retried with backoff (200 ms doubling to 30 s); recovery = from the filler deleted until every group is at lag 0, every VM's latest snapshot is in the queue and every accounting line is in Elasticsearch; ${unrecovered} trial(s) did not recover within 90 s`,
    );
    await writeFaultResult(result);
    assert.equal(unrecovered, 0, 'every trial recovered');
    assert.equal(counted.lost, 0, `lost: ${JSON.stringify(counted)}`);
    assert.equal(counted.doubled, 0, 'no accounting record twice in Elasticsearch');
    assert.equal(letters.length, 0, 'nothing valid in the DLQ');
    assert.equal(pipeline.halfVisible, 0, 'no half element ever visible to ssmsend');
    assert.equal(leftTemporaries, 0, 'no .tmp left by a failed write');
    assert.equal(notReadySeen, trials, '/readyz not ready while the sink was stalled');
    assert.equal(readyAgain, trials, '/readyz ready again after');
  });
});
