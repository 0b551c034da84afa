import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, commandNamed } from '../../../app/cli/program.js';

test('a command line loads only the command it names, after any global options and their values', async () => {
  const all = await buildProgram([]);
  assert.ok(all.commands.length >= 16, `every command without a name (${all.commands.length})`);
  assert.equal(commandNamed(all, ['-c', 'ship', '--set', 'kafka.backend=rdkafka', '--backend', 'rdkafka', 'transform', '--kind', 'accounting']), 'transform', 'option values are not commands');
  assert.equal(commandNamed(all, ['--config=x.yaml', 'sink', 'elasticsearch']), 'sink');
  assert.equal(commandNamed(all, ['--help']), undefined);
  assert.equal(commandNamed(all, ['nosuch']), undefined, 'a typo loads every command, for commander to suggest one');
  const ship = await buildProgram(['--log-level', 'warn', 'ship', '--path', 'x']);
  assert.deepEqual(ship.commands.map((c) => c.name()), ['ship']);
  const expand = await buildProgram(['expand']);
  assert.deepEqual(expand.commands.map((c) => c.name()), ['expand']);
});
