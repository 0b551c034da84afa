import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../../pipeline/paths.js';
import { casoVenv, ensureApelTools } from '../apel/tools.js';

/**
 * The committed apel-message and caso-json fixtures are what cASO itself writes: the generator
 * (generate_fixtures.py, cASO's own record classes and SSM messenger) run again gives the same bytes.
 * Needs a Python that imports caso: $CASO_PYTHON, python3, or <tmpdir>/caso-venv/bin/python
 * (`python3 -m venv /tmp/caso-venv && /tmp/caso-venv/bin/pip install caso`); skipped without one.
 */
const generator = path.join(projectRoot, 'test/interop/caso/generate_fixtures.py');
const fixtureRoot = path.join(projectRoot, 'test/fixtures');

function casoPython(): string | undefined {
  ensureApelTools();
  const candidates = [process.env.CASO_PYTHON, path.join(casoVenv, 'bin/python'), 'python3', path.join(os.tmpdir(), 'caso-venv/bin/python')].filter((c): c is string => c !== undefined && c !== '');
  return candidates.find((python) => (python === 'python3' || existsSync(python)) && spawnSync(python, ['-c', 'import caso.record, caso.messenger.ssm'], { stdio: 'ignore' }).status === 0);
}

const python = casoPython();
if (python === undefined) process.stdout.write('# SKIP cASO fixtures: no Python with caso installed (set CASO_PYTHON)\n');

describe('cASO writes the committed fixtures', { skip: python === undefined ? 'no Python with caso installed (set CASO_PYTHON)' : false }, () => {
  test('generate_fixtures.py gives every committed apel-message and caso-json fixture byte for byte', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'tally-caso-fixtures-'));
    try {
      const run = spawnSync(python as string, [generator, out], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
      for (const kind of ['apel-message', 'caso-json']) {
        const generated = readdirSync(path.join(out, kind)).sort();
        assert.deepEqual(generated, readdirSync(path.join(fixtureRoot, kind)).sort(), `${kind}: the same files`);
        for (const name of generated) {
          assert.equal(readFileSync(path.join(out, kind, name), 'utf8'), readFileSync(path.join(fixtureRoot, kind, name), 'utf8'), `${kind}/${name}`);
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
