import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin } from '../../../../pipeline/bus/types.js';
import { backends, eventually } from '../../../support/world.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll, topicCount, waitForCount } from '../../../support/topic-records.js';
import { accountingLine, numbersByFile, range, tempDir } from './support.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-child.js');

function startChild(options: unknown): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [child, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`tailer process exited early with ${code}`)));
  });
}

const exited = (proc: ChildProcess) => new Promise<number | null>((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve(proc.exitCode) : proc.once('exit', (code) => resolve(code))));

const total = 20_000;

for (const backend of backends) {
  describe(`file tail killed with SIGKILL on ${backend}`, { timeout: 240_000 }, () => {
    const procs: ChildProcess[] = [];
    const admins: Admin[] = [];
    after(async () => {
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      for (const a of admins) await a.close().catch(() => undefined);
    });

    test(`kill -9 mid-run of ${total} lines, restart: no line missing; the duplicates are exactly the lines acknowledged after the last registry flush`, async () => {
      const { bus, admin, raw } = await isolatedBus(backend);
      admins.push(admin);
      const prefix = bus.topic('');
      const dir = await tempDir();
      const file = path.join(dir, 'usage.json');
      const registryPath = path.join(dir, 'registry.json');
      // production flush interval (1 s), so the kill lands between flushes with acknowledged lines not yet recorded
      const options = { backend, topicPrefix: prefix, tail: { paths: [path.join(dir, '*.json')], registryPath, scanIntervalMs: 200, pollIntervalMs: 20, registryFlushMs: 1000, batchMaxLines: 200 } };
      const started = Date.now();

      // paced over ~5 s so that the kill lands while lines are still arriving, whichever backend starts faster
      let written = 0;
      const writing = (async () => {
        while (written < total) {
          const n = Math.min(250, total - written);
          await appendFile(file, `${range(written, written + n).map((i) => accountingLine('u', i, 100)).join('\n')}\n`);
          written += n;
          await new Promise((r) => setTimeout(r, 60));
        }
      })();

      const first = await startChild(options);
      procs.push(first);
      // kill between two flushes: after a flush recorded progress, once more lines were acknowledged since
      const flushedLines = await eventually('a registry flush with progress', 60_000, async () => {
        const state = JSON.parse(await readFile(registryPath, 'utf8').catch(() => '{"files":[]}')) as { files: { path: string; offset: number }[] };
        const at = state.files.find((f) => f.path === file)?.offset ?? 0;
        return at > 0 ? (await readFile(file)).subarray(0, at).filter((b) => b === 10).length : undefined;
      });
      assert.ok(flushedLines < total, `the first flush came after every line was written (${flushedLines}): the kill would test nothing`);
      await waitForCount(admin, raw, Math.min(flushedLines + 300, total), 60_000);
      first.kill('SIGKILL');
      await exited(first);
      const killedAt = Date.now() - started;
      // what the killed process got into Kafka (a send in flight at the kill may still have landed)
      await new Promise((r) => setTimeout(r, 1000));
      const beforeRestart = await topicCount(admin, raw);
      const registry = JSON.parse(await readFile(registryPath, 'utf8')) as { files: { path: string; offset: number }[] };
      const offset = registry.files.find((f) => f.path === file)?.offset ?? 0;
      const content = await readFile(file);
      const resumeLine = content.subarray(0, offset).filter((b) => b === 10).length;

      const second = await startChild(options);
      procs.push(second);
      await writing;
      await waitForCount(admin, raw, total + (beforeRestart - resumeLine), 120_000);
      second.kill('SIGTERM');
      assert.equal(await exited(second), 0, 'graceful stop exits 0');

      const numbers = numbersByFile(await readAll(bus, admin, raw)).get('u') ?? [];
      const unique = new Set(numbers);
      assert.equal(unique.size, total, 'no line missing');
      assert.deepEqual(
        numbers,
        [...range(0, beforeRestart), ...range(resumeLine, total)],
        'first run: a contiguous prefix; second run: from the registry offset to the end, so the duplicates are exactly [registry offset, last line acked before the kill]',
      );
      const duplicates = numbers.length - total;
      assert.ok(duplicates >= 0 && duplicates === beforeRestart - resumeLine);
      const finalRegistry = JSON.parse(await readFile(registryPath, 'utf8')) as { files: { path: string; offset: number }[] };
      assert.equal(finalRegistry.files.find((f) => f.path === file)?.offset, (await readFile(file)).length, 'the graceful stop flushed the registry to the end');
      process.stdout.write(`# SIGKILL (${backend}): ${total} lines, killed at ${killedAt} ms after ${beforeRestart} in Kafka, registry had ${resumeLine}: ${duplicates} duplicates (the lines acked after the last flush), 0 lost, ${Date.now() - started} ms in all\n`);
    });
  });
}

