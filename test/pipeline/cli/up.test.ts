import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniqueName } from '../../support/world.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../pipeline/cli/main.js');

test('tally up moves the bundled samples through every stage, says what landed and why the rest was rejected; a second run overwrites instead of doubling', { timeout: 300_000 }, () => {
  const env = { ...process.env, TALLY_KAFKA__TOPIC_PREFIX: `${uniqueName('up')}.`, TALLY_ELASTICSEARCH__INDEX_PREFIX: `${uniqueName('tally-up')}-`, TALLY_TRANSFORM__GROUP_ID: uniqueName('up-transform'), TALLY_SINKS__ELASTICSEARCH__GROUP_ID: uniqueName('up-sink') };
  const run = () => spawnSync(process.execPath, [cli, 'up'], { env, encoding: 'utf8', timeout: 240_000 });
  const first = run();
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /ship\s+.*7 lines sent, 12 dropped by the NEANIAS filter/);
  assert.match(first.stdout, /beats\s+33 Filebeat events/);
  assert.match(first.stdout, /transform\s+60 raw events: 41 normalised records, 19 rejected/);
  assert.match(first.stdout, /elasticsearch\s+41 documents written to \S+ \(41 there in all/);
  assert.match(first.stdout, /rejected\s+19 dead letters in Kafka topic \S+dlq\.accounting/);
  assert.match(first.stdout, /`value` must be a number, got "5,1"/);
  assert.match(first.stdout, /top-users/);

  const second = run();
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /elasticsearch\s+41 documents written to \S+ \(41 there in all/, 'the same samples again: overwritten by record id, not doubled');
});
