import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/world.js';
import { FaultPipeline, faultTrials, writeFaultResult, type FaultResult } from './apel-support.js';

/**
 * apel-dir-removed: the APEL outgoing queue directory disappears while `tally sink apel` writes
 * (here: renamed away in one step and read as ssmsend had read it, then deleted). The sink must
 * make it again as dirq does, say so, and write every record; nothing committed is lost.
 */
const trials = faultTrials();

describe('fault apel-dir-removed: the APEL queue directory removed mid-run', { timeout: 120_000 + trials * 60_000 }, () => {
  let pipeline: FaultPipeline;
  before(async () => {
    pipeline = await FaultPipeline.start({ name: 'dir-removed' });
  });
  after(async () => {
    await pipeline?.stop();
  });

  test(`${trials} trials: nothing lost, nothing doubled, the sink recreates the queue and says so`, async () => {
    const result: FaultResult = { fault: 'apel-dir-removed', description: 'the APEL outgoing queue directory removed (renamed away and deleted) while tally sink apel writes into it; records keep arriving', trials, lost: 0, doubled: 0, validInDlq: 0, recoverySeconds: [], notes: [] };
    const sink = pipeline.stage('sink-apel');
    let unrecovered = 0;
    for (let i = 0; i < trials; i += 1) {
      const trial = pipeline.newTrial();
      await pipeline.shipSnapshot(trial);
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1500));
      const warningsBefore = (sink.output().match(/was missing and was created again/g) ?? []).length;
      // ssmsend's QueueSimple() makes the directory too when it opens it: held off until the sink has met the gap
      pipeline.pauseDrainer(true);
      const removedAt = Date.now();
      await pipeline.removeQueue();
      await pipeline.shipSnapshot(trial);
      await eventually(`trial ${i}: the sink saying it made the queue directory again`, 30_000, () => ((sink.output().match(/was missing and was created again/g) ?? []).length > warningsBefore ? true : undefined));
      pipeline.pauseDrainer(false);
      const seconds = await pipeline.recovered(removedAt);
      if (seconds === undefined) unrecovered += 1;
      else result.recoverySeconds.push(seconds);
      assert.ok(sink.running(), 'the sink keeps running');
    }
    const counted = await pipeline.tally();
    const letters = await pipeline.deadLetters(['accounting', 'caso-json']);
    Object.assign(result, { lost: counted.lost, doubled: counted.doubled, validInDlq: letters.length });
    result.notes.push(
      'removal is a rename of the queue directory (it vanishes for the sink in one step) whose elements are read as ssmsend would have read them before it went; what an operator deletes unread is lost by the operator, not the pipeline',
      `the sink recreated the directory itself each time (no restart) and logged a warning naming it; ${pipeline.elementsRead} elements read, ${pipeline.halfVisible} not whole`,
      `latest snapshot last for every VM but ${counted.outOfOrder}`,
      `recovery = from the removal until every group is at lag 0, every VM's latest snapshot is in the queue and every accounting line is in Elasticsearch; ${unrecovered} trial(s) did not recover within 90 s`,
    );
    await writeFaultResult(result);
    assert.equal(unrecovered, 0, 'every trial recovered');
    assert.equal(counted.lost, 0, `lost: ${JSON.stringify(counted)}`);
    assert.equal(counted.doubled, 0, 'no accounting record twice in Elasticsearch');
    assert.equal(letters.length, 0, 'nothing valid in the DLQ');
    assert.equal(pipeline.halfVisible, 0, 'no half element ever visible to ssmsend');
  });
});
