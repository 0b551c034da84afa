import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startFileTail, type FileTail } from '../../../../connectors/sources/file-tail/index.js';
import type { DeadLetter } from '../../../../pipeline/dlq.js';
import type { Admin } from '../../../../pipeline/bus/types.js';
import { backends, eventually, testLog } from '../../../support/world.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll, topicCount, waitForCount } from '../../../support/topic-records.js';
import { accountingLine, appendLines, envelopeOf, numbersByFile, quick, range, tempDir } from './support.js';

/** The file tailer against the real broker. Each test has its own topics (unique prefix) and directory. */
for (const backend of backends) {
  describe(`file tail on ${backend}`, { timeout: 180_000 }, () => {
    const running: FileTail[] = [];
    const admins: Admin[] = [];
    after(async () => {
      for (const t of running) await t.abort().catch(() => undefined);
      for (const a of admins) await a.close().catch(() => undefined);
    });

    test('new files are picked up while running; a partial line waits for its newline; stop + start resumes exactly after the last acknowledged line', async () => {
      const { bus, admin, raw } = await isolatedBus(backend);
        admins.push(admin);
      const dir = await tempDir();
      const registryPath = path.join(dir, 'registry.json');
      const a = path.join(dir, 'a.log');
      await appendLines(a, range(0, 50).map((n) => accountingLine('a', n)));
      const options = { ...quick, paths: [path.join(dir, '*.log')], registryPath };
      let tail = await startFileTail(options, { bus, log: testLog });
      running.push(tail);
      await waitForCount(admin, raw, 50);

      // a file created while running, and a partial line
      const b = path.join(dir, 'b.log');
      await appendLines(b, range(0, 10).map((n) => accountingLine('b', n)));
      const partial = accountingLine('a', 50);
      await appendFile(a, partial.slice(0, 30));
      await waitForCount(admin, raw, 60);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await topicCount(admin, raw), 60, 'the partial line is not sent');
      await appendFile(a, `${partial.slice(30)}\n`);
      await waitForCount(admin, raw, 61);

      await tail.stop();
      const registry = JSON.parse(await readFile(registryPath, 'utf8')) as { files: { path: string; offset: number }[] };
      assert.equal(registry.files.find((f) => f.path === a)?.offset, (await readFile(a)).length, 'the registry holds the end of the last acknowledged line');

      // lines written while stopped, then a restart
      await appendLines(a, range(51, 60).map((n) => accountingLine('a', n)));
      await appendLines(b, range(10, 20).map((n) => accountingLine('b', n)));
      tail = await startFileTail(options, { bus, log: testLog });
      running.push(tail);
      await waitForCount(admin, raw, 80);
      await new Promise((r) => setTimeout(r, 500));
      await tail.stop();

      const messages = await readAll(bus, admin, raw);
      assert.equal(messages.length, 80, 'no duplicates, no loss');
      const numbers = numbersByFile(messages);
      assert.deepEqual(numbers.get('a'), range(0, 60));
      assert.deepEqual(numbers.get('b'), range(0, 20));

      // Filebeat's event shape: log.offset is where the line starts
      const content = await readFile(a);
      for (const m of messages) {
        const env = envelopeOf(m);
        if (env.log?.file?.path !== a) continue;
        const start = env.log.offset as number;
        assert.equal(content.subarray(start, start + env.message.length).toString(), env.message);
        assert.equal(start === 0 || content[start - 1] === 10, true);
      }
      const first = envelopeOf(messages[0]!);
      assert.equal(first.input?.type, 'filestream');
      assert.deepEqual(first.tags, ['accounting']);
      assert.equal(typeof (first.log?.file as Record<string, unknown>).inode, 'string');
      assert.equal(messages[0]!.key?.toString().endsWith(`:${path.join(dir, (JSON.parse(first.message) as { file: string }).file)}.log`), true, 'keyed by host and stream path');
    });

    test('line filter, tags, fields, empty lines; an over-long line and invalid UTF-8 go to the DLQ, counted, and reading goes on', async () => {
      const { bus, admin, raw, dlq } = await isolatedBus(backend);
      admins.push(admin);
      const dir = await tempDir();
      const file = path.join(dir, 'svc.json');
      const huge = accountingLine('x', 999, 5000);
      const lines = [accountingLine('x', 0), '{"level":"info","msg":"not accounting"}', '', accountingLine('x', 1), huge, accountingLine('x', 2)];
      await writeFile(file, `${lines.join('\n')}\n`);
      await appendFile(file, Buffer.concat([Buffer.from('{"level":"accounting","bad":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
      await appendLines(file, [accountingLine('x', 3)]);
      const tail = await startFileTail({ ...quick, paths: [file], registryPath: path.join(dir, 'r.json'), tags: ['accounting', 'site-a'], fields: { site: 'A', env: 'test' }, maxLineBytes: 1024 }, { bus, log: testLog });
      running.push(tail);
      await waitForCount(admin, raw, 4);
      await waitForCount(admin, dlq, 2);
      await eventually('all lines acknowledged', 10_000, () => (tail.stats().linesRead === 8 && tail.stats().linesSent === 4 ? true : undefined));
      const stats = tail.stats();
      await tail.stop();
      assert.equal(stats.linesFiltered, 1);
      assert.equal(stats.linesEmpty, 1);
      assert.deepEqual(stats.deadLetters, { tooLarge: 1, invalidUtf8: 1 });

      const sent = await readAll(bus, admin, raw);
      assert.deepEqual(numbersByFile(sent).get('x'), [0, 1, 2, 3]);
      const env = envelopeOf(sent[0]!);
      assert.deepEqual(env.tags, ['accounting', 'site-a']);
      assert.deepEqual(env.fields, { site: 'A', env: 'test' });

      const dead = (await readAll(bus, admin, dlq)).map((m) => JSON.parse(m.value!.toString()) as DeadLetter);
      const big = dead.find((d) => d.reasons[0]?.code === 'RECORD_TOO_LARGE');
      assert.ok(big, 'the over-long line has a dead letter');
      assert.match(big.reasons[0]!.message, new RegExp(`line at byte \\d+ of ${file.replaceAll('.', '\\.')} is ${Buffer.byteLength(huge)} bytes, over the limit of 1024`));
      assert.equal(big.original.bytes, Buffer.byteLength(huge));
      assert.equal(big.original.truncated, true);
      assert.equal(Buffer.from(big.original.data, 'base64').toString(), huge.slice(0, 1024));
      assert.equal(big.envelope?.log?.offset, (await readFile(file)).indexOf(huge));
      const bad = dead.find((d) => d.reasons[0]?.code === 'RECORD_UNPARSABLE');
      assert.ok(bad);
      assert.deepEqual([...Buffer.from(bad.original.data, 'base64').subarray(29, 31)], [0xff, 0xfe], 'the original bytes are kept');
    });
  });
}
