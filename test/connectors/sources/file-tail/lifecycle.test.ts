import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { startFileTail, type FileTail } from '../../../../connectors/sources/file-tail/index.js';
import type { Admin } from '../../../../pipeline/bus/types.js';
import { eventually, testLog } from '../../../support/world.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll, waitForCount } from '../../../support/topic-records.js';
import { accountingLine, appendLines, numbersByFile, quick, range, tempDir } from './support.js';

/** Restarts, rotations while stopped, a damaged registry, idle and removed files. The logic is the same for both backends: kafkajs only. */
describe('file tail lifecycle', { timeout: 180_000 }, () => {
  const running: FileTail[] = [];
  const admins: Admin[] = [];
  after(async () => {
    for (const t of running) await t.abort().catch(() => undefined);
    for (const a of admins) await a.close().catch(() => undefined);
  });
  const lines = (from: number, to: number) => range(from, to).map((n) => accountingLine('x', n, 40));

  test('rotations while stopped: a renamed file resumes at its offset, a copytruncate copy continues, the new content is read once', async () => {
    const { bus, admin, raw } = await isolatedBus('kafkajs');
    admins.push(admin);
    const dir = await tempDir();
    const x = path.join(dir, 'x.log');
    const y = path.join(dir, 'y.log');
    const options = { ...quick, paths: [path.join(dir, '*.log*')], registryPath: path.join(dir, 'r.json') };
    await appendLines(x, lines(0, 100));
    await appendLines(y, lines(0, 100).map((l) => l.replace('"file":"x"', '"file":"y"')));
    let tail = await startFileTail(options, { bus, log: testLog });
    running.push(tail);
    await waitForCount(admin, raw, 200);
    await tail.stop();
    // while stopped: more lines, then x rotated by rename and y by copytruncate, then more lines again
    await appendLines(x, lines(100, 150));
    await appendLines(y, lines(100, 150).map((l) => l.replace('"file":"x"', '"file":"y"')));
    await rename(x, `${x}.1`);
    await appendLines(x, lines(150, 200));
    await copyFile(y, `${y}.1`);
    await truncate(y, 0);
    await appendLines(y, lines(150, 200).map((l) => l.replace('"file":"x"', '"file":"y"')));
    tail = await startFileTail(options, { bus, log: testLog });
    running.push(tail);
    await waitForCount(admin, raw, 400);
    await eventually('idle', 10_000, () => (tail.stats().linesSent === 200 ? true : undefined));
    const stats = tail.stats();
    await tail.stop();
    const numbers = numbersByFile(await readAll(bus, admin, raw));
    assert.deepEqual(numbers.get('x'), range(0, 200));
    assert.deepEqual(numbers.get('y'), range(0, 200));
    assert.equal(stats.copiesContinued, 1);
  });

  test('a truncated registry: the tailer falls back to the backup, says so, and re-sends only what came after it', async () => {
    const { bus, admin, raw } = await isolatedBus('kafkajs');
    admins.push(admin);
    const dir = await tempDir();
    const x = path.join(dir, 'x.log');
    const registryPath = path.join(dir, 'r.json');
    const options = { ...quick, paths: [x], registryPath };
    await appendLines(x, lines(0, 100));
    let tail = await startFileTail(options, { bus, log: testLog });
    running.push(tail);
    await waitForCount(admin, raw, 100);
    await new Promise((r) => setTimeout(r, 300)); // a flush at 100 lines
    await appendLines(x, lines(100, 130));
    await waitForCount(admin, raw, 130);
    await tail.stop(); // the registry at 130 lines; its backup at 100
    const backup = JSON.parse(await readFile(`${registryPath}.bak`, 'utf8')) as { files: { offset: number }[] };
    const backupLines = (await readFile(x)).subarray(0, backup.files[0]?.offset ?? 0).filter((b) => b === 10).length;
    assert.ok(backupLines < 130, `the backup is older (${backupLines} lines)`);
    await truncate(registryPath, 40); // a crash (or a full disk) cut it
    await appendLines(x, lines(130, 150));
    tail = await startFileTail(options, { bus, log: testLog });
    running.push(tail);
    await waitForCount(admin, raw, 150 + (130 - backupLines));
    await new Promise((r) => setTimeout(r, 300));
    const stats = tail.stats();
    await tail.stop();
    assert.equal(stats.registry.origin, 'backup');
    assert.match(stats.registry.problem ?? '', /not valid JSON/);
    const numbers = numbersByFile(await readAll(bus, admin, raw)).get('x');
    assert.deepEqual(numbers, [...range(0, 130), ...range(backupLines, 150)], 'nothing lost; the lines after the backup come again (downstream ids absorb them)');
    const kept = (await import('node:fs/promises')).readdir(dir);
    assert.ok((await kept).some((name) => name.startsWith('r.json.corrupt-')), 'the damaged registry is kept for inspection');
  });

  test('close_inactive closes idle files and reopens them when they grow; clean_removed forgets deleted files', async () => {
    const { bus, admin, raw } = await isolatedBus('kafkajs');
    admins.push(admin);
    const dir = await tempDir();
    const x = path.join(dir, 'x.log');
    const gone = path.join(dir, 'gone.log');
    const registryPath = path.join(dir, 'r.json');
    await appendLines(x, lines(0, 10));
    await appendLines(gone, lines(0, 10).map((l) => l.replace('"file":"x"', '"file":"gone"')));
    const tail = await startFileTail({ ...quick, paths: [path.join(dir, '*.log')], registryPath, closeInactiveMs: 300 }, { bus, log: testLog });
    running.push(tail);
    await waitForCount(admin, raw, 20);
    await eventually('idle files closed', 10_000, () => (tail.stats().files.open === 0 ? true : undefined));
    await appendLines(x, lines(10, 20));
    await waitForCount(admin, raw, 30);
    assert.equal(tail.stats().files.tracked, 2);
    await rm(gone);
    await eventually('removed file forgotten', 10_000, async () => {
      const state = JSON.parse(await readFile(registryPath, 'utf8')) as { files: { path: string }[] };
      return tail.stats().files.tracked === 1 && !state.files.some((f) => f.path === gone) ? true : undefined;
    });
    await tail.stop();
    assert.deepEqual(numbersByFile(await readAll(bus, admin, raw)).get('x'), range(0, 20));
    assert.ok((await stat(registryPath)).size > 0);
  });
});
