import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveApelQueueConfig } from '../../../../connectors/sources/apel-queue/config.js';
import { isTallyError } from '../../../../pipeline/errors.js';

test("defaults follow dirq's purge (locks 600 s, temporaries 300 s) and Kafka's record limit", () => {
  assert.deepEqual(resolveApelQueueConfig({ path: '/var/spool/apel/outgoing/openstack' }), {
    path: '/var/spool/apel/outgoing/openstack',
    kind: 'apel-message',
    pollIntervalMs: 1000,
    batchMaxElements: 100,
    batchMaxBytes: 1_000_000,
    maxRecordBytes: 1_000_000,
    purgeIntervalMs: 60_000,
    staleLockSeconds: 600,
    staleTemporarySeconds: 300,
    createQueue: true,
    retryInitialMs: 250,
    retryMaxMs: 10_000,
  });
});

test('precise errors: unknown keys, missing path, inconsistent limits', () => {
  const invalid = (input: unknown, pattern: RegExp) => assert.throws(() => resolveApelQueueConfig(input), (e: unknown) => isTallyError(e, 'CONFIG_INVALID') && pattern.test(e.message));
  invalid({}, /apelQueue\.path: is required/);
  invalid({ path: '/q', lockAge: 5 }, /apelQueue\.lockAge: unknown key/);
  invalid({ path: '/q', staleLockSeconds: -1 }, /apelQueue\.staleLockSeconds: must be >= 0/);
  invalid({ path: '/q', maxRecordBytes: 2_000_000, batchMaxBytes: 1_000_000 }, /batchMaxBytes: must be at least maxRecordBytes/);
  invalid({ path: '/q', retryInitialMs: 500, retryMaxMs: 100 }, /retryMaxMs: must be at least retryInitialMs/);
});
