import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ELEMENT_ID_PATTERN, ElementNamer, directoryName, elementTimeMs } from '../../../connectors/dirq/names.js';
import { QueueSimple, QueueSimpleWriter } from '../../../connectors/dirq/queue-simple.js';
import { dirq } from '../../interop/apel/tools.js';

const tempQueue = async (): Promise<string> => path.join(await mkdtemp(path.join(os.tmpdir(), 'tally-dirq-')), 'queue');
const writerOptions = { granularitySeconds: 60, fileMode: 0o664, directoryMode: 0o775 };

describe('dirq names', () => {
  test('directory = seconds rounded down to the granularity, 8 hex; element = 8 hex seconds, 5 hex µs, 1 random hex digit, strictly increasing', () => {
    assert.equal(directoryName(0x5ba24c8f, 60), (0x5ba24c8f - (0x5ba24c8f % 60)).toString(16).padStart(8, '0'));
    assert.equal(directoryName(1234.9, 1), '000004d2');
    const namer = new ElementNamer(0xd);
    assert.equal(namer.next(0x5ba24c8f * 1e6 + 0x0f129), '5ba24c8f0f129d');
    assert.equal(namer.next(0x5ba24c8f * 1e6 + 0x0f129), '5ba24c8f0f12ad', 'same microsecond: the next one');
    assert.equal(namer.next(1), '5ba24c8f0f12bd', 'a clock going back does not reorder names');
    assert.equal(elementTimeMs('5ba24c8f0f129d'), 0x5ba24c8f * 1000 + Math.floor(0x0f129 / 1000));
    assert.equal(elementTimeMs('5BA24C8F0F129D'), undefined);
    assert.throws(() => new ElementNamer(16));
  });
});

describe('QueueSimple against Debian python3-dirq', () => {
  test("reads what dirq writes, in dirq's order, skipping .tmp, foreign names and other readers' locks", async () => {
    const root = await tempQueue();
    const names = dirq.add(root, ['one\n', Buffer.from('two\n'), 'thr\u00e9e\n']);
    assert.equal(names.length, 3);
    for (const name of names) assert.match(name, ELEMENT_ID_PATTERN);
    const directory = names[0]?.slice(0, 8) ?? '';
    await writeFile(path.join(root, directory, '0123456789abcd.tmp'), 'half written');
    await writeFile(path.join(root, directory, '0123456789ABCD'), 'upper case: not an element');
    await writeFile(path.join(root, directory, '0123456789abcde'), '15 digits: not an element');
    await mkdir(path.join(root, 'rejected'));
    await writeFile(path.join(root, 'rejected', '0123456789abcd'), 'not in an 8-hex directory');
    assert.equal(dirq.lock(root, names[1] ?? ''), true, 'python locked the second element');

    const queue = new QueueSimple(root);
    assert.deepEqual(await queue.directories(), [directory]);
    const listing = await queue.list(directory);
    assert.deepEqual(listing.elements, [...names].sort());
    assert.equal(listing.temporaries, 1);
    assert.equal(listing.locks, 1);
    assert.equal(await queue.count(), 3, 'count includes locked elements, like dirq');
    assert.equal(await queue.count(), dirq.count(root));

    assert.equal(await queue.lock(names[1] ?? ''), false, "another reader's lock is respected");
    assert.equal(await queue.lock(names[0] ?? ''), true);
    assert.equal(await queue.lock(names[0] ?? ''), false, 'a lock is exclusive');
    assert.equal((await queue.get(names[0] ?? '')).toString(), 'one\n');
    assert.deepEqual(dirq.browse(root).map((e) => e.name), [names[2]], 'python dirq sees our lock and skips that element too');
    assert.equal(await queue.remove(names[0] ?? ''), true);
    assert.equal(await queue.lock(names[0] ?? ''), false, 'a removed element cannot be locked');
    assert.equal(await queue.lock(names[2] ?? ''), true);
    assert.equal((await queue.get(names[2] ?? '')).toString('utf8'), 'thr\u00e9e\n', 'dirq writes str as UTF-8');
    assert.equal(await queue.unlock(names[2] ?? ''), true);
    assert.deepEqual(dirq.drain(root).map((e) => e.name), [names[2]], 'unlocked: python reads and removes it');
  });

  test('a directory that vanished is listed as empty instead of failing (python dirq raises FileNotFoundError there)', async () => {
    const root = await tempQueue();
    const queue = new QueueSimple(root);
    assert.deepEqual(await queue.directories(), [], 'no queue directory: nothing to read');
    await mkdir(path.join(root, '00000001'), { recursive: true });
    const directories = await queue.directories();
    await rm(path.join(root, '00000001'), { recursive: true });
    const listing = await queue.list(directories[0] ?? '');
    assert.deepEqual(listing, { elements: [], temporaries: 0, locks: 0, vanished: true });
  });

  test("purge as dirq's: stale .tmp and .lck removed by age, empty directories removed except the newest", async () => {
    const root = await tempQueue();
    for (const d of ['00000001', '00000002', '00000003', '00000004']) await mkdir(path.join(root, d), { recursive: true });
    const [young, old] = dirq.add(root, ['young', 'old']);
    const live = path.basename(path.dirname(path.join(root, young ?? '')));
    assert.ok(dirq.lock(root, young ?? ''));
    assert.ok(dirq.lock(root, old ?? ''));
    const longAgo = new Date(Date.now() - 700_000);
    await utimes(path.join(root, old ?? ''), longAgo, longAgo);
    await writeFile(path.join(root, live, 'aaaaaaaaaaaaaa.tmp'), 'dead writer');
    await utimes(path.join(root, live, 'aaaaaaaaaaaaaa.tmp'), longAgo, longAgo);
    await writeFile(path.join(root, live, 'bbbbbbbbbbbbbb.tmp'), 'live writer');

    const queue = new QueueSimple(root);
    assert.deepEqual(await queue.purge({ maxTemporarySeconds: 0, maxLockSeconds: 0 }), { temporaries: 0, locks: 0, directories: 4 }, 'limits 0: only empty directories go');
    const outcome = await queue.purge({ maxTemporarySeconds: 300, maxLockSeconds: 600 });
    assert.deepEqual(outcome, { temporaries: 1, locks: 1, directories: 0 });
    const left = (await readdir(path.join(root, live))).sort();
    assert.deepEqual(left, [young?.slice(9), `${young?.slice(9)}.lck`, old?.slice(9), 'bbbbbbbbbbbbbb.tmp'].sort());
    assert.deepEqual(await readdir(root), [live]);
    assert.deepEqual(dirq.browse(root).map((e) => e.name), [old], 'the stale lock is gone: python can take the element again');
  });
});

describe('QueueSimpleWriter', () => {
  test('python dirq reads back every element, whole and in order; no .tmp is left; modes are set whatever the umask', async () => {
    const root = await tempQueue();
    const writer = new QueueSimpleWriter(root, writerOptions);
    const bodies = Array.from({ length: 40 }, (_, i) => Buffer.from(`APEL-cloud-message: v0.4\nVMUUID: vm-${i}\nSiteName: S\n`));
    const first = await writer.add(bodies.slice(0, 20));
    const second = await writer.add(bodies.slice(20));
    const names = [...first, ...second];
    assert.deepEqual([...names].sort(), names, 'names increase: one writer keeps its order');
    for (const name of names) assert.match(name, ELEMENT_ID_PATTERN);
    const directory = path.join(root, names[0]?.slice(0, 8) ?? '');
    assert.equal((await readdir(directory)).filter((n) => n.endsWith('.tmp')).length, 0);
    assert.equal((await stat(path.join(root, names[0] ?? ''))).mode & 0o777, 0o664);
    assert.equal((await stat(directory)).mode & 0o777, 0o775);
    const drained = dirq.drain(root);
    assert.deepEqual(drained.map((e) => e.name), names);
    assert.deepEqual(drained.map((e) => e.body.toString()), bodies.map((b) => b.toString()));
  });

  test('recreates an intermediate directory that a purge removed', async () => {
    const root = await tempQueue();
    const writer = new QueueSimpleWriter(root, { ...writerOptions, granularitySeconds: 1 });
    const [name] = await writer.add([Buffer.from('a')]);
    await rm(path.join(root, name?.slice(0, 8) ?? ''), { recursive: true });
    const again = await writer.add([Buffer.from('b')]);
    assert.equal(dirq.drain(root).at(-1)?.body.toString(), 'b');
    assert.equal(again.length, 1);
  });
});

test('removeStaleTemporaries: a dead writer\'s .tmp (its pid in the name) goes, a live one\'s and dirq\'s own stay', async () => {
  const root = await tempQueue();
  const dir = path.join(root, '00000000');
  await mkdir(dir, { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  await writeFile(path.join(dir, `0123456789abc0.${dead}.tmp`), 'half');
  await writeFile(path.join(dir, `0123456789abc1.${process.pid}.tmp`), 'mine, being written');
  await writeFile(path.join(dir, '0123456789abc2.tmp'), "dirq's own");
  const writer = new QueueSimpleWriter(root, { granularitySeconds: 60, fileMode: 0o664, directoryMode: 0o775 });
  const outcome = await writer.removeStaleTemporaries();
  assert.deepEqual(outcome.removed, [path.join(dir, `0123456789abc0.${dead}.tmp`)]);
  assert.equal(outcome.kept, 2);
  assert.deepEqual((await readdir(dir)).sort(), [`0123456789abc1.${process.pid}.tmp`, '0123456789abc2.tmp']);
});
