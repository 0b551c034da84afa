import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveApelSinkConfig } from '../../../../connectors/sinks/apel/config.js';
import { isTallyError } from '../../../../pipeline/errors.js';

test("defaults: cASO's 100 records per message, 512 KB bodies, the four APEL record topics, files 0664 in 0775 directories", () => {
  assert.deepEqual(resolveApelSinkConfig({ path: '/var/spool/apel/outgoing/openstack' }), {
    path: '/var/spool/apel/outgoing/openstack',
    groupId: 'tally-sink-apel',
    topics: ['cloud.vm', 'cloud.ip', 'cloud.accelerator', 'cloud.storage'],
    maxRecordsPerMessage: 100,
    maxMessageBytes: 524_288,
    flushIntervalMs: 5000,
    granularitySeconds: 60,
    fileMode: 0o664,
    directoryMode: 0o775,
    zeroDurationsAsOne: true,
    ipRecordUuid: true,
    maxInFlight: 20000,
    retryInitialMs: 200,
    retryMaxMs: 30_000,
  });
});

test('owner and group by name or number; modes in octal', () => {
  const config = resolveApelSinkConfig({ path: '/q', owner: 'root', group: 0, fileMode: '0640', directoryMode: '750' });
  assert.equal(config.uid, 0);
  assert.equal(config.gid, 0);
  assert.equal(config.fileMode, 0o640);
  assert.equal(config.directoryMode, 0o750);
});

test('precise errors: over 1000 records, unknown topic, unknown user, unreadable mode', () => {
  const invalid = (input: unknown, pattern: RegExp) => assert.throws(() => resolveApelSinkConfig(input), (e: unknown) => isTallyError(e, 'CONFIG_INVALID') && pattern.test(e.message));
  invalid({ path: '/q', maxRecordsPerMessage: 1001 }, /sinks\.apel\.maxRecordsPerMessage: must be <= 1000/);
  invalid({ path: '/q', maxMessageBytes: 2_000_000 }, /sinks\.apel\.maxMessageBytes: must be <= 716800/);
  invalid({ path: '/q', topics: ['cloud.vms'] }, /sinks\.apel\.topics\.0: must be one of "cloud\.vm"/);
  invalid({ path: '/q', owner: 'no-such-user-here' }, /sinks\.apel\.owner: "no-such-user-here" is not in \/etc\/passwd/);
  invalid({ path: '/q', fileMode: '0888' }, /sinks\.apel\.fileMode: must match pattern/);
  invalid({ path: '/q', fileMode: '0444' }, /fileMode: the owner must be able to read and write/);
});
