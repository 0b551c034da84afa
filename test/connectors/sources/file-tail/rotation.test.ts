import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, open, rename, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { startFileTail, type FileTail } from '../../../../connectors/sources/file-tail/index.js';
import type { Admin } from '../../../../pipeline/bus/types.js';
import { backends, eventually, testLog } from '../../../support/world.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll, waitForCount } from '../../../support/topic-records.js';
import { accountingLine, numbersByFile, quick, range, tempDir } from './support.js';

/** An application log writer: appends numbered lines through one descriptor, in small bursts. */
class Writer {
  handle!: FileHandle;
  next = 0;
  constructor(private readonly file: string) {}
  async open(): Promise<void> {
    this.handle = await open(this.file, 'a');
  }
  async write(count: number): Promise<void> {
    const lines = range(this.next, this.next + count).map((n) => accountingLine('x', n, 40));
    this.next += count;
    await this.handle.write(`${lines.join('\n')}\n`);
  }
  async close(): Promise<void> {
    await this.handle.close();
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of backends) {
  describe(`file tail rotation on ${backend}`, { timeout: 240_000 }, () => {
    const running: FileTail[] = [];
    const admins: Admin[] = [];
    after(async () => {
      for (const t of running) await t.abort().catch(() => undefined);
      for (const a of admins) await a.close().catch(() => undefined);
    });

    for (const glob of ['x.log*', 'x.log']) {
      test(`rotation by rename while writing (paths ${glob}): every line exactly once, in order`, async () => {
        const { bus, admin, raw } = await isolatedBus(backend);
        admins.push(admin);
        const dir = await tempDir();
        const file = path.join(dir, 'x.log');
        const writer = new Writer(file);
        await writer.open();
        const tail = await startFileTail({ ...quick, paths: [path.join(dir, glob)], registryPath: path.join(dir, 'r.json'), readChunkBytes: 8192, batchMaxLines: 100, maxQueuedLines: 200 }, { bus, log: testLog });
        running.push(tail);
        const started = Date.now();
        for (let generation = 0; generation < 3; generation += 1) {
          for (let burst = 0; burst < 20; burst += 1) {
            await writer.write(50);
            await pause(5);
          }
          // logrotate without copytruncate: shift the generations, then the app keeps writing to its old descriptor a little before it reopens
          for (let g = generation; g >= 1; g -= 1) await rename(`${file}.${g}`, `${file}.${g + 1}`);
          await rename(file, `${file}.1`);
          await writer.write(30);
          await pause(30);
          await writer.write(20);
          await writer.close();
          await writer.open();
        }
        await writer.write(500);
        await writer.close();
        const total = writer.next;
        await waitForCount(admin, raw, total);
        await eventually('tailer idle', 10_000, () => (tail.stats().linesSent === total ? true : undefined));
        await pause(glob === 'x.log' ? 300 : 300);
        const stats = tail.stats();
        await tail.stop();
        const messages = await readAll(bus, admin, raw);
        const numbers = numbersByFile(messages).get('x') ?? [];
        assert.equal(messages.length, total, `${total} lines written, ${messages.length} in Kafka`);
        assert.deepEqual(numbers, range(0, total), 'each line once, in file order (one stream, one partition)');
        if (glob === 'x.log*') assert.ok(stats.renames >= 3, `renames seen: ${stats.renames}`);
        process.stdout.write(`# rename rotation (${backend}, ${glob}): ${total} lines, 3 rotations, ${Date.now() - started} ms, stats ${JSON.stringify({ renames: stats.renames, sends: stats.sends })}\n`);
      });
    }

    for (const glob of ['x.log*', 'x.log']) {
      test(`copytruncate (paths ${glob}): no line lost or repeated${glob === 'x.log*' ? ', even when the tailer lags behind' : ''}`, async () => {
        const { bus, admin, raw } = await isolatedBus(backend);
        admins.push(admin);
        const dir = await tempDir();
        const file = path.join(dir, 'x.log');
        const writer = new Writer(file);
        await writer.open();
        // small reads and a small queue so the tailer is behind the writer when the rotation happens
        const tail = await startFileTail({ ...quick, paths: [path.join(dir, glob)], registryPath: path.join(dir, 'r.json'), readChunkBytes: 4096, batchMaxLines: 20, maxQueuedLines: 40 }, { bus, log: testLog });
        running.push(tail);
        const started = Date.now();
        let lagged = 0;
        for (let rotation = 0; rotation < 2; rotation += 1) {
          // the tailer has seen the start of the current content (a file it never saw is simply a new file to it) ...
          const before = writer.next;
          await writer.write(20);
          await eventually('the first lines read', 10_000, () => (tail.stats().linesRead > before ? true : undefined));
          // ... and is behind when the rotation comes
          await writer.write(1500);
          // without the copy among the paths, the tail of the old content is gone with the truncation: wait until it was read
          if (glob === 'x.log') await waitForCount(admin, raw, writer.next);
          else if (tail.stats().linesRead < writer.next) lagged += 1;
          // logrotate copytruncate (the writer pauses, so no line falls between the copy and the truncation)
          await copyFile(file, `${file}.${rotation + 1}`);
          await truncate(file, 0);
          await writer.write(200);
          await pause(50);
        }
        await writer.close();
        const total = writer.next;
        await waitForCount(admin, raw, total);
        await eventually('tailer idle', 10_000, () => (tail.stats().linesSent === total ? true : undefined));
        await pause(300);
        const stats = tail.stats();
        await tail.stop();
        const messages = await readAll(bus, admin, raw);
        const numbers = numbersByFile(messages).get('x') ?? [];
        assert.equal(messages.length, total, `${total} lines written, ${messages.length} in Kafka`);
        assert.deepEqual([...numbers].sort((a, b) => a - b), range(0, total), 'each line exactly once');
        assert.equal(stats.truncations, 2);
        if (glob === 'x.log*') {
          assert.equal(stats.copiesContinued, 2, 'each copy continued where the truncated file was left');
          assert.deepEqual(numbers, range(0, total), 'and in order');
        }
        process.stdout.write(`# copytruncate (${backend}, ${glob}): ${total} lines, 2 rotations, tailer behind at ${lagged} of them, ${Date.now() - started} ms\n`);
      });
    }
  });
}
