import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeReport } from './report.js';

test('the report reads every <fault>.json of the shared shape, whichever suite wrote it, and fails a fault that lost, doubled or did not recover', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'faults-report-'));
  const result = (fault: string, extra: Record<string, unknown> = {}) => ({ fault, description: `${fault} happens`, trials: 2, lost: 0, doubled: 0, validInDlq: 0, recoverySeconds: [1.5, 4.5], notes: [`${fault} note`], ...extra });
  await writeFile(path.join(dir, 'sigkill-ship.json'), JSON.stringify(result('sigkill-ship')));
  await writeFile(path.join(dir, 'apel-dir-removed.json'), JSON.stringify(result('apel-dir-removed', { lost: 3 })));
  await writeFile(path.join(dir, 'broker.json'), JSON.stringify(result('broker', { recoverySeconds: [2] })));
  await writeFile(path.join(dir, 'notes.txt.json'), JSON.stringify({ something: 'else' }));
  const file = path.join(dir, 'REPORT.md');
  const results = await writeReport(dir, file, { command: 'x', when: 'now', trialsPerFault: 2, machine: 'here' });
  assert.deepEqual(results.map((r) => r.fault), ['apel-dir-removed', 'broker', 'sigkill-ship'], 'only files of the shape, sorted');
  const report = await readFile(file, 'utf8');
  assert.match(report, /\| `sigkill-ship` \| 2 \| 0 \| 0 \| 0 \| 3\.0 s \| 4\.5 s \| pass \|/);
  assert.match(report, /\| `apel-dir-removed` \| 2 \| 3 \| .*\*\*FAIL\*\*/, 'a loss fails the fault');
  assert.match(report, /\| `broker` \| .*\*\*FAIL\*\*/, 'a trial that did not recover fails the fault');
  assert.match(report, /- apel-dir-removed note/);
  await rm(dir, { recursive: true, force: true });
});
