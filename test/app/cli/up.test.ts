import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniqueName } from '../../support/world.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../app/cli/main.js');

test('tally up moves the bundled samples through every stage, says what landed and why the rest was rejected; a second run overwrites instead of doubling', { timeout: 300_000 }, () => {
  const env = { ...process.env, TALLY_KAFKA__TOPIC_PREFIX: `${uniqueName('up')}.`, TALLY_ELASTICSEARCH__INDEX_PREFIX: `${uniqueName('tally-up')}-`, TALLY_TRANSFORM__GROUP_ID: uniqueName('up-transform'), TALLY_SINKS__ELASTICSEARCH__GROUP_ID: uniqueName('up-sink'), TALLY_SINKS__APEL__GROUP_ID: uniqueName('up-apel') };
  const run = () => spawnSync(process.execPath, [cli, 'up'], { env, encoding: 'utf8', timeout: 240_000 });
  const first = run();
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /ship\s+.*7 lines sent, 12 dropped by the NEANIAS filter/);
  assert.match(first.stdout, /beats\s+33 Filebeat events/);
  assert.match(first.stdout, /transform\s+accounting: 60 raw events → 41 normalised records, 19 rejected/);
  assert.match(first.stdout, /transform\s+apel-message: 7 raw events → 16 normalised records, 1 rejected/);
  assert.match(first.stdout, /transform\s+caso-json: 2 raw events → 2 normalised records, 0 rejected/);
  assert.match(first.stdout, /elasticsearch\s+\d+ documents written, 0 refused/);
  assert.match(first.stdout, /accounting-usage-\*\s+41\n/);
  assert.match(first.stdout, /cloud-vm-\*\s+6\n/);
  // how records pack into messages depends on the sink's linger time against the machine's pace: 4 messages
  // of 12 records when all cloud.vm records arrive within one linger (3 superseded snapshots replaced in
  // their open message); more messages on a busy machine (seen: 2 cloud messages under load), and then a
  // snapshot sealed before its successor arrived is written too (APEL keeps the latest)
  assert.match(first.stdout, /sink apel\s+1[2-5] records in [4-9] APEL messages/);
  assert.match(first.stdout, /[1-6] × APEL-cloud-message: v0\.4/);
  for (const type of ['APEL Public IP message', 'StAR storage \\(XML\\)', 'APEL-accelerator-message']) assert.match(first.stdout, new RegExp(`\\d × ${type}`));
  assert.match(first.stdout, /rejected\s+19 dead letters in Kafka topic \S+dlq\.accounting/);
  assert.match(first.stdout, /rejected\s+1 dead letters in Kafka topic \S+dlq\.apel-message/);
  assert.match(first.stdout, /^\s+- `\w+` (is required|must)[^\n]+\(event from [^)]+ over http/m, 'the reasons, in words, with where the input came from');
  assert.match(first.stdout, /top-users/);
  assert.match(first.stdout, /transform\s+ror-audit: 23 raw events → 23 normalised records, 0 rejected/);
  assert.match(first.stdout, /transform\s+oslo-log: 130 raw events → 48 normalised records, 0 rejected/, 'tracebacks joined into their events');
  assert.match(first.stdout, /ops-logs-\*\s+48\n/);
  assert.match(first.stdout, /audit-events-\*\s+38\n/);
  assert.match(first.stdout, /request req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c .*: 5 events/);
  assert.match(first.stdout, /RuntimeError: Connection to libvirt lost/);
  assert.match(first.stdout, /2012-03-31T00:00:00\.000Z\s+4\s+19/, 'the 7-day actives');

  const second = run();
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /accounting-usage-\*\s+41\n/, 'the same samples again: overwritten by record id, not doubled');
  assert.match(second.stdout, /cloud-vm-\*\s+6\n/);
  assert.match(second.stdout, /audit-events-\*\s+38\n/);
  assert.match(second.stdout, /ops-logs-\*\s+48\n/);
});
