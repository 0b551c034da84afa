import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FaultPipeline, faultTrials, writeFaultResult, type FaultResult } from './apel-support.js';

/**
 * registry-truncated: `tally ship` is killed (SIGKILL) and its file registries are found damaged
 * on restart, as a crash on a filesystem without ordered writes could leave them: the main file cut
 * short (its backup intact), cut short with the backup garbled too, or overwritten with garbage.
 * ship must start, say what it found, and lose no line (re-reading from the last safe point: the
 * ids downstream absorb the repeats).
 */
const trials = faultTrials();
const damages = ['main cut short, backup intact', 'main cut short and backup garbled', 'main overwritten with garbage, backup intact'] as const;

async function damage(file: string, how: (typeof damages)[number]): Promise<boolean> {
  const size = await stat(file).then((s) => s.size).catch(() => -1);
  if (size <= 0) return false;
  if (how === 'main overwritten with garbage, backup intact') {
    const garbage = Buffer.from(Array.from({ length: Math.max(1, Math.floor(size / 2)) }, () => Math.floor(Math.random() * 256)));
    await writeFile(file, garbage);
    return true;
  }
  await truncate(file, Math.floor(Math.random() * size));
  if (how === 'main cut short and backup garbled') await writeFile(`${file}.bak`, (await readFile(`${file}.bak`).catch(() => Buffer.from('x'))).subarray(0, 7));
  return true;
}

describe('fault registry-truncated: the file-tail registry damaged by a crash', { timeout: 120_000 + trials * 60_000 }, () => {
  let pipeline: FaultPipeline;
  before(async () => {
    pipeline = await FaultPipeline.start({ name: 'registry' });
  });
  after(async () => {
    await pipeline?.stop();
  });

  test(`${trials} trials: ship starts, says what it found, and no line is lost or doubled in Elasticsearch`, async () => {
    const result: FaultResult = { fault: 'registry-truncated', description: 'tally ship killed with SIGKILL while shipping, its registry files (cASO JSON and accounting inputs) then damaged: cut short, cut short with the backup garbled, or overwritten with garbage; more lines appended meanwhile; ship restarted', trials, lost: 0, doubled: 0, validInDlq: 0, recoverySeconds: [], notes: [] };
    const registries = [pipeline.files.registry, path.join(path.dirname(pipeline.files.registry), 'accounting.json')];
    let unrecovered = 0;
    let undamaged = 0;
    const said = { backup: 0, reset: 0 };
    for (let i = 0; i < trials; i += 1) {
      const how = damages[i % damages.length] ?? damages[0];
      const trial = pipeline.newTrial();
      await pipeline.shipSnapshot(trial);
      await new Promise((resolve) => setTimeout(resolve, 1200 + Math.random() * 1500));
      await pipeline.stage('ship').kill('SIGKILL');
      for (const file of registries) if (!(await damage(file, how))) undamaged += 1;
      await pipeline.shipSnapshot(trial);
      const restartedAt = Date.now();
      const ship = await pipeline.startStage('ship', ['ship'], /tally ship: .*caso/);
      if (/no usable version/.test(ship.output())) said.reset += 1;
      else if (/is unusable .* continuing from its backup/.test(ship.output())) said.backup += 1;
      const seconds = await pipeline.recovered(restartedAt);
      if (seconds === undefined) unrecovered += 1;
      else result.recoverySeconds.push(seconds);
      process.stdout.write(`# trial ${i} (${how}): recovered in ${seconds ?? 'never'} s\n`);
    }
    const counted = await pipeline.tally();
    const letters = await pipeline.deadLetters(['accounting', 'caso-json']);
    Object.assign(result, { lost: counted.lost, doubled: counted.doubled, validInDlq: letters.length });
    result.notes.push(
      `damages in turn: ${damages.join('; ')}; both registries (two ship inputs) each time; ${undamaged} registry file(s) not yet written when killed`,
      `ship started every time and said what it found: ${said.backup} restart(s) from the backup (warning naming the file and the problem, the damaged file kept as <registry>.corrupt-<time>), ${said.reset} from the start of every file (error naming both files, backup garbled too)`,
      'lines after the last safe point are shipped again; Elasticsearch holds each accounting line once (its _id is the line\'s file identity and offset) and the APEL sink writes the repeated snapshots again (APEL REPLACEs on VMUUID + month)',
      `recovery = from the restart until every group is at lag 0, every VM's latest snapshot is in the APEL queue and every accounting line is in Elasticsearch; ${unrecovered} trial(s) did not recover within 90 s; latest snapshot last for every VM but ${counted.outOfOrder}`,
    );
    await writeFaultResult(result);
    assert.equal(unrecovered, 0, 'every trial recovered');
    assert.equal(counted.lost, 0, `lost: ${JSON.stringify(counted)}`);
    assert.equal(counted.doubled, 0, 'no accounting record twice in Elasticsearch');
    assert.equal(letters.length, 0, 'nothing valid in the DLQ');
    assert.equal(said.backup + said.reset, trials - Math.floor(undamaged / registries.length), 'ship said what it found each time');
  });
});
