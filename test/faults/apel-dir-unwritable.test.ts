import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readdir } from 'node:fs/promises';
import path from 'node:path';
import { eventually } from '../support/world.js';
import { FaultPipeline, asRoot, faultTrials, writeFaultResult, type FaultResult } from './apel-support.js';

/**
 * apel-dir-unwritable: the APEL queue directory and its intermediate directories lose write
 * permission while records arrive. Root ignores modes, so when the tests run as root `tally sink
 * apel` runs as `nobody` (setpriv) and the queue belongs to nobody; otherwise it runs as the test's
 * own user. The sink must stall without committing, say why (path, errno, remedy), report not ready,
 * and go on by itself once the permission is back.
 */
const trials = faultTrials();

async function setModes(queue: string, mode: number): Promise<void> {
  await chmod(queue, mode);
  for (const name of await readdir(queue).catch(() => [] as string[])) if (/^[0-9a-f]{8}$/.test(name)) await chmod(path.join(queue, name), mode).catch(() => undefined);
}

describe('fault apel-dir-unwritable: the APEL queue directory made unwritable, then writable again', { timeout: 120_000 + trials * 60_000 }, () => {
  let pipeline: FaultPipeline;
  before(async () => {
    pipeline = await FaultPipeline.start({ name: 'dir-unwritable', ...(asRoot ? { apelSinkUser: 'nobody' } : {}) });
  });
  after(async () => {
    if (pipeline) await setModes(pipeline.queue, 0o775).catch(() => undefined);
    await pipeline?.stop();
  });

  test(`${trials} trials: the sink stalls without committing, says why, is not ready, and recovers by itself`, async () => {
    const result: FaultResult = { fault: 'apel-dir-unwritable', description: 'the APEL outgoing queue directory and its intermediate directories made read-only (mode 0555) for the sink\'s user while records arrive, then given back mode 0775', trials, lost: 0, doubled: 0, validInDlq: 0, recoverySeconds: [], notes: [] };
    const sink = pipeline.stage('sink-apel');
    const errors = (): number => (sink.output().match(/cannot write APEL messages into [^ ]+: EACCES on /g) ?? []).length;
    let unrecovered = 0;
    let notReadySeen = 0;
    let readyAgain = 0;
    for (let i = 0; i < trials; i += 1) {
      const trial = pipeline.newTrial();
      await pipeline.shipSnapshot(trial);
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1500));
      const before = errors();
      await setModes(pipeline.queue, 0o555);
      await pipeline.shipSnapshot(trial);
      await eventually(`trial ${i}: the sink reporting EACCES with the path`, 60_000, () => (errors() > before ? true : undefined));
      const notReady = await eventually(`trial ${i}: /readyz not ready while stalled`, 20_000, async () => ((await pipeline.readyz()) === 503 ? true : undefined)).catch(() => false);
      if (notReady) notReadySeen += 1;
      const fixedAt = Date.now();
      await setModes(pipeline.queue, 0o775);
      const seconds = await pipeline.recovered(fixedAt);
      if (seconds === undefined) unrecovered += 1;
      else result.recoverySeconds.push(seconds);
      if (await eventually(`trial ${i}: /readyz ready again`, 20_000, async () => ((await pipeline.readyz()) === 200 ? true : undefined)).catch(() => false)) readyAgain += 1;
      assert.ok(sink.running(), 'the sink keeps running');
    }
    const counted = await pipeline.tally();
    const letters = await pipeline.deadLetters(['accounting', 'caso-json']);
    Object.assign(result, { lost: counted.lost, doubled: counted.doubled, validInDlq: letters.length });
    const sample = /"msg":"(cannot write APEL messages into [^"]*)"/.exec(sink.output())?.[1] ?? '';
    result.notes.push(
      asRoot ? 'the tests ran as root, so the sink ran as nobody (setpriv --reuid nobody); the directories belong to nobody and chmod 0555 keeps it out' : 'the sink ran as the test\'s own non-root user',
      `every trial: the sink logged EACCES with the path and the remedy, e.g. "${sample.slice(0, 400)}"`,
      `/readyz answered 503 during the fault in ${notReadySeen}/${trials} trials (ops.stallTimeoutMs 1500) and 200 again after it in ${readyAgain}/${trials}`,
      `no restart: the sink retried with backoff (retryInitialMs 200 doubling to retryMaxMs 30000) and went on by itself; ${pipeline.elementsRead} elements read by ssmsend's loop, ${pipeline.halfVisible} not whole; latest snapshot last for every VM but ${counted.outOfOrder}`,
      `recovery = from the permission given back until every group is at lag 0, every VM's latest snapshot is in the queue and every accounting line is in Elasticsearch; ${unrecovered} trial(s) did not recover within 90 s`,
    );
    await writeFaultResult(result);
    assert.equal(unrecovered, 0, 'every trial recovered');
    assert.equal(counted.lost, 0, `lost: ${JSON.stringify(counted)}`);
    assert.equal(counted.doubled, 0, 'no accounting record twice in Elasticsearch');
    assert.equal(letters.length, 0, 'nothing valid in the DLQ');
    assert.equal(pipeline.halfVisible, 0, 'no half element ever visible to ssmsend');
    assert.equal(notReadySeen, trials, '/readyz not ready while the sink was stalled');
    assert.equal(readyAgain, trials, '/readyz ready again after');
  });
});
