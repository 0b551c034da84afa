import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Cursor, Registry, RegistryCorruptError, loadRegistry } from '../../../../connectors/sources/file-tail/registry.js';
import { testLog } from '../../../support/world.js';
import { tempDir } from './support.js';

const fp = 'a'.repeat(64);
const cursor = (id: string, offset: number) => new Cursor({ id, dev: 1, ino: Number(id), path: `/logs/${id}.log`, fingerprint: fp, fingerprintBytes: 10, offset, seq: 1, updated: new Date().toISOString() });

async function tmp(): Promise<string> {
  return path.join(await tempDir(), 'sub', 'registry.json');
}

test('a new registry starts empty; flushes are atomic and keep the previous version as .bak', async () => {
  const file = await tmp();
  const { registry, loaded } = await Registry.open(file, testLog);
  assert.equal(loaded.origin, 'new');
  registry.add(cursor('11', 100));
  await registry.flush();
  const first = await readFile(file, 'utf8');
  registry.get('11')!.offset = 200;
  registry.touch();
  await registry.flush();
  await registry.close();
  assert.equal(JSON.parse(await readFile(`${file}.bak`, 'utf8')).files[0].offset, 100, 'the backup is the previous good version');
  assert.equal(await readFile(`${file}.bak`, 'utf8'), first);
  assert.equal(JSON.parse(await readFile(file, 'utf8')).files[0].offset, 200);
  const names = await readdir(path.dirname(file));
  assert.deepEqual(names.sort(), ['registry.json', 'registry.json.bak'], 'no tmp or lock file is left behind');
  const again = await loadRegistry(file);
  assert.equal(again.origin, 'main');
  assert.equal(again.cursors[0]?.offset, 200);
  assert.equal(again.cursors[0]?.enqueued, 200);
});

test('nothing is written when nothing changed', async () => {
  const file = await tmp();
  const { registry } = await Registry.open(file, testLog);
  registry.add(cursor('1', 5));
  await registry.flush();
  const before = (await stat(file)).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  await registry.flush();
  assert.equal((await stat(file)).mtimeMs, before);
  assert.equal(registry.flushes, 1);
  await registry.close();
});

test('a truncated registry falls back to the backup, says so, and keeps the corrupt file for inspection', async () => {
  const file = await tmp();
  const { registry } = await Registry.open(file, testLog);
  registry.add(cursor('7', 1000));
  await registry.flush();
  registry.get('7')!.offset = 2000;
  registry.touch();
  await registry.flush();
  await registry.close();
  const size = (await stat(file)).size;
  await truncate(file, Math.floor(size / 2));
  const warnings: string[] = [];
  const log = Object.assign(Object.create(testLog), { warn: (_o: unknown, m: string) => warnings.push(m), info: () => undefined, child: () => log });
  const reopened = await Registry.open(file, log);
  assert.equal(reopened.loaded.origin, 'backup');
  assert.match(reopened.loaded.problem ?? '', /not valid JSON .*truncated\?/);
  assert.equal(reopened.registry.get('7')?.offset, 1000, 'the backup state: lines after it are sent again, none lost');
  assert.match(warnings.join('\n'), /is unusable .* continuing from its backup/);
  assert.ok(reopened.loaded.movedTo && (await stat(reopened.loaded.movedTo)).size > 0, 'the corrupt file is kept aside');
  // the next flush must not make the corrupt file the backup
  reopened.registry.touch();
  await reopened.registry.flush();
  assert.equal(JSON.parse(await readFile(`${file}.bak`, 'utf8')).files[0].offset, 1000);
  await reopened.registry.close();
});

test('a corrupt registry without a usable backup is an error with corruptRegistry: refuse, never a silent re-read of everything', async () => {
  const file = await tmp();
  const { registry } = await Registry.open(file, testLog);
  registry.add(cursor('3', 10));
  await registry.flush();
  await registry.close();
  await writeFile(file, '{"version":1,"files":[{"id":"3","dev":1');
  await assert.rejects(Registry.open(file, testLog, 'refuse'), (error: unknown) => error instanceof RegistryCorruptError && /unusable .* there is no backup; refusing/.test(error.message));
  await writeFile(file, JSON.stringify({ version: 1, files: [{ id: '3', dev: 1, ino: 3, path: '/x', fingerprint: fp, fingerprintBytes: 1, offset: -5, seq: 1, updated: '' }] }));
  await assert.rejects(Registry.open(file, testLog, 'refuse'), /entry 0 has an invalid offset/);
});

test('a registry and its backup both damaged (the default, reread): it starts, says so loudly, keeps both aside, and every file is read from its start', async () => {
  const file = await tmp();
  const { registry } = await Registry.open(file, testLog);
  registry.add(cursor('3', 10));
  await registry.flush();
  registry.touch();
  await registry.flush();
  await registry.close();
  await writeFile(file, '{"version":1,"files":[{"id":"3","dev":1');
  await writeFile(`${file}.bak`, Buffer.from([0x00, 0xff, 0x7b]));
  const errors: string[] = [];
  const log = Object.assign(Object.create(testLog), { error: (_o: unknown, m: string) => errors.push(m), warn: () => undefined, info: () => undefined, child: () => log });
  const reopened = await Registry.open(file, log);
  assert.equal(reopened.loaded.origin, 'reset');
  assert.deepEqual(reopened.registry.all(), [], 'no offsets: every file from its start, nothing skipped');
  assert.match(reopened.loaded.problem ?? '', /not valid JSON .* its backup is unusable too/);
  assert.match(errors.join('\n'), /no usable version .* read again from its start/);
  assert.ok(reopened.loaded.movedTo && (await readFile(reopened.loaded.movedTo, 'utf8')).startsWith('{"version":1'), 'the damaged file is kept aside');
  reopened.registry.add(cursor('4', 1));
  await reopened.registry.flush();
  assert.equal(JSON.parse(await readFile(file, 'utf8')).files[0].id, '4', 'a fresh registry is written');
  await reopened.registry.close();
});

test('a registry is used by one tailer at a time; a dead owner\'s lock is taken over', async () => {
  const file = await tmp();
  const first = await Registry.open(file, testLog);
  await writeFile(`${file}.lock`, '1\n'); // pid 1 is alive (init) and not us
  await assert.rejects(Registry.open(file, testLog), /in use by process 1/);
  await writeFile(`${file}.lock`, '999999999\n');
  const second = await Registry.open(file, testLog);
  await second.registry.close();
  await first.registry.abandon();
});
