import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
  assert.match(report, /\| `sigkill-ship` \| 2 \| 0 \| 0 \| – \| 0 \| 0 \| 0 \| – \| 3\.0 s \| 4\.5 s \| pass \|/);
  assert.match(report, /\| `apel-dir-removed` \| 2 \| 3 \| .*\*\*FAIL\*\*/, 'a loss fails the fault');
  assert.match(report, /\| `broker` \| .*\*\*FAIL\*\*/, 'a trial that did not recover fails the fault');
  assert.match(report, /- apel-dir-removed note/);
  await rm(dir, { recursive: true, force: true });
});

test('readiness and vacuous trials from the details: a stage still 503 after recovery, or a trial that tested nothing, fails the fault; a later folder wins', async () => {
  const [first, second] = [await mkdtemp(path.join(tmpdir(), 'faults-report-a-')), await mkdtemp(path.join(tmpdir(), 'faults-report-b-'))];
  const trial = (n: number, during: string[], after: string[], vacuous?: string) => ({ trial: n, readiness: { notReadyDuring: during, notReadyAfter: after }, ...(vacuous ? { vacuous } : {}) });
  const result = (fault: string, trials: unknown[]) => ({ fault, description: fault, trials: 2, lost: 0, doubled: 0, validInDlq: 0, recoverySeconds: [1, 2], notes: [], details: { trials } });
  await writeFile(path.join(first, 'ok.json'), JSON.stringify(result('ok', [trial(0, ['sink-apel'], []), trial(1, [], [], 'the second transform handled nothing')])));
  await writeFile(path.join(second, 'ok.json'), JSON.stringify(result('ok', [trial(0, ['sink-apel', 'transform'], []), trial(1, ['sink-apel'], [])])));
  const doubling = (n: number, ids: string[]) => ({ ...trial(n, [], []), outcome: { domainDoubled: ids.map((id) => `t.accounting.usage ${id} ×2 (expected 1)`) } });
  await writeFile(path.join(second, 'doubling.json'), JSON.stringify(result('doubling', [doubling(0, ['a', 'b']), doubling(1, ['a'])])));
  await writeFile(path.join(second, 'sticky.json'), JSON.stringify(result('sticky', [trial(0, ['sink-apel'], ['sink-apel']), trial(1, [], [])])));
  await mkdir(path.join(second, 'controls'));
  await writeFile(path.join(second, 'controls', 'control-eos-off.json'), JSON.stringify({ ...result('control-eos-off', [doubling(0, ['a', 'b', 'c'])]), trials: 1, doubled: 3 }));
  const file = path.join(second, 'REPORT.md');
  await writeReport([first, second], file, { command: 'x', when: 'now', trialsPerFault: 2, machine: 'here' });
  const report = await readFile(file, 'utf8');
  assert.match(report, /\| `ok` \| 2 \| 0 \| 0 \| – \| 0 \| 0 \| 0 \| 2 \| .* pass \|/, 'the second folder\'s result, ready after both trials');
  assert.match(report, /\| `sticky` \| 2 \| 0 \| 0 \| – \| 0 \| 0 \| 0 \| 1 \| .*\*\*FAIL\*\*/, 'a stage not ready after recovery fails the fault');
  assert.match(report, /\| `doubling` \| 2 \| 0 \| 0 \| 2 \| /, 'ids doubled in the domain topics, counted once each over the trials');
  assert.match(report, /## Negative controls[\s\S]*\| `control-eos-off` \| 0 \| 3 \| 3 \| yes \|/, 'a control from controls/, its doubles seen');
  assert.match(report, /- \/readyz 503 while the fault lasted: sink-apel in 2, transform in 1 of 2 trials; every stage 200 again after 2 of 2/);
  await writeFile(path.join(first, 'void.json'), JSON.stringify(result('void', [trial(0, [], [], 'nothing'), trial(1, [], [])])));
  await writeReport([first], file, { command: 'x', when: 'now', trialsPerFault: 2, machine: 'here' });
  assert.match(await readFile(file, 'utf8'), /\| `void` \| 2 \| 0 \| 0 \| – \| 0 \| 0 \| 1 \| .*\*\*FAIL\*\*/, 'a vacuous trial fails the fault');
  await Promise.all([first, second].map((d) => rm(d, { recursive: true, force: true })));
});
