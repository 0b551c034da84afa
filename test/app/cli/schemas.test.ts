import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeChecks } from '../../../app/cli/commands/schemas.js';
import { checkAgainstRevision, previousRevision } from '../../../pipeline/registry/schemas-check.js';

const usage = (fields: object[]): string => JSON.stringify({ type: 'record', name: 'Usage', namespace: 'tally.accounting', fields: [{ name: 'id', type: 'string' }, ...fields] });

/** A git repository of its own with schemas/avro/accounting.usage.avsc committed once. */
function repository(): { root: string; write: (text: string) => void; commit: () => void } {
  const root = mkdtempSync(path.join(tmpdir(), 'schemas-check-'));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: root, stdio: 'pipe' });
  mkdirSync(path.join(root, 'schemas', 'avro'), { recursive: true });
  const write = (text: string) => writeFileSync(path.join(root, 'schemas', 'avro', 'accounting.usage.avsc'), text);
  git('init', '-q');
  write(usage([{ name: 'duration', type: 'long' }]));
  git('add', '.');
  git('commit', '-qm', 'v1');
  return { root, write, commit: () => (git('add', '.'), git('commit', '-qm', 'next')) };
}

test('without a registry: an uncommitted incompatible change fails naming the field and the rule; a new field with a default passes', () => {
  const repo = repository();
  try {
    repo.write(usage([{ name: 'duration', type: 'long' }, { name: 'site', type: 'string' }]));
    assert.equal(previousRevision(repo.root), 'HEAD', 'uncommitted schema changes are compared with HEAD');
    const refused = describeChecks(checkAgainstRevision('HEAD', repo.root));
    assert.equal(refused.ok, false);
    assert.match(refused.lines.join('\n'), /accounting\.usage: INCOMPATIBLE with git HEAD\n {4}- tally\.accounting\.Usage\.site: the new schema cannot read what version 1 wrote; rule: a field one side lacks has no default/);

    repo.write(usage([{ name: 'duration', type: 'long' }, { name: 'site', type: ['null', 'string'], default: null }]));
    const accepted = describeChecks(checkAgainstRevision('HEAD', repo.root));
    assert.equal(accepted.ok, true, accepted.lines.join('\n'));
    repo.commit();
    assert.match(previousRevision(repo.root), /^[0-9a-f]{7,}$/, 'a clean tree is compared with the parent commit');
    assert.equal(describeChecks(checkAgainstRevision(previousRevision(repo.root), repo.root)).ok, true);
  } finally {
    rmSync(repo.root, { recursive: true, force: true });
  }
});
