import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compileGlob, expandGlobs, matchesGlob, segmentRegExp } from '../../../../connectors/sources/file-tail/glob.js';
import { tempDir } from './support.js';

test('segment patterns: *, ?, classes, literal dots', () => {
  assert.ok(segmentRegExp('*.log').test('app.log'));
  assert.ok(segmentRegExp('*.log').test('.hidden.log'), 'Go globs match a leading dot');
  assert.ok(!segmentRegExp('*.log').test('app.log.1'));
  assert.ok(segmentRegExp('*.log*').test('app.log.1'));
  assert.ok(segmentRegExp('app.log.?').test('app.log.1'));
  assert.ok(!segmentRegExp('app.log.?').test('app.log.10'));
  assert.ok(segmentRegExp('app.log.[0-9]').test('app.log.7'));
  assert.ok(!segmentRegExp('app.log.[!0-9]').test('app.log.7'));
  assert.ok(!segmentRegExp('a.b').test('axb'), 'a dot is literal');
  assert.ok(segmentRegExp('x[').test('x['), 'an unclosed class is literal');
});

test('compiles the literal base and matches paths, ** spanning directories', () => {
  const glob = compileGlob('/var/log/**/ctsec_audit_*.log*');
  assert.equal(glob.base, '/var/log');
  assert.ok(matchesGlob(glob, '/var/log/ctsec_audit_a.log'));
  assert.ok(matchesGlob(glob, '/var/log/ror/x/ctsec_audit_s.log.3'));
  assert.ok(!matchesGlob(glob, '/var/lib/ctsec_audit_a.log'));
});

test('walks the file system: matches files at depth, skips non-matching names', async () => {
  const dir = await tempDir();
  await mkdir(path.join(dir, 'a/b'), { recursive: true });
  for (const f of ['x.log', 'x.log.1', 'y.txt', 'a/z.log', 'a/b/w.log']) await writeFile(path.join(dir, f), '');
  assert.deepEqual(await expandGlobs([compileGlob(path.join(dir, '*.log*'))]), [path.join(dir, 'x.log'), path.join(dir, 'x.log.1')]);
  assert.deepEqual(await expandGlobs([compileGlob(path.join(dir, '**/*.log'))]), ['a/b/w.log', 'a/z.log', 'x.log'].map((f) => path.join(dir, f)));
  assert.deepEqual(await expandGlobs([compileGlob(path.join(dir, 'a/*/w.log')), compileGlob(path.join(dir, 'y.txt'))]), ['a/b/w.log', 'y.txt'].map((f) => path.join(dir, f)));
  assert.deepEqual(await expandGlobs([compileGlob(path.join(dir, 'missing/*.log'))]), []);
});
