import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveArchiveConfig } from '../../../../connectors/sinks/archive/config.js';
import { windowSettings } from '../../../../connectors/sinks/archive/stage.js';
import { isTallyError } from '../../../../pipeline/errors.js';

test('defaults: WARNING and above, ±60 s for the service and the request, bounded buffer, consumer bound derived from it', () => {
  const config = resolveArchiveConfig({});
  assert.deepEqual(config, {
    groupId: 'tally-archive',
    minLevel: 'WARNING',
    windowSeconds: 60,
    requestWindowSeconds: 60,
    latenessSeconds: 30,
    idleSeconds: 10,
    maxBufferedEvents: 50_000,
    maxBufferedBytes: 128 * 1024 * 1024,
    maxTriggersPerEvent: 32,
    maxInFlight: 200_000,
    tickMs: 1000,
    concurrency: 2,
    flushBytes: 5_000_000,
    maxBackoffMs: 30_000,
  });
  assert.deepEqual(resolveArchiveConfig(config), config, 'a resolved configuration resolves to itself');
  const settings = windowSettings(resolveArchiveConfig({ windowSeconds: 5, requestWindowSeconds: 300, minLevel: 'ERROR', latenessSeconds: 0 }));
  assert.equal(settings.windowMs, 5000);
  assert.equal(settings.requestWindowMs, 300_000);
  assert.equal(settings.minLevelNumber, 40);
  assert.equal(settings.latenessMs, 0);
});

test('precise errors: unknown keys, out-of-range values, a consumer bound below twice the buffer', () => {
  const reasons = (input: unknown): string[] => {
    try {
      resolveArchiveConfig(input);
    } catch (error) {
      assert.ok(isTallyError(error, 'CONFIG_INVALID'));
      return error.details?.reasons as string[];
    }
    throw new Error('expected CONFIG_INVALID');
  };
  assert.deepEqual(reasons({ window: 60, windowSeconds: 0, minLevel: 'warning' }), [
    'archive.window: unknown key (rule: additionalProperties)',
    'archive.minLevel: must be one of "TRACE", "DEBUG", "INFO", "AUDIT", "WARNING", "ERROR", "CRITICAL" (rule: enum)',
    'archive.windowSeconds: must be > 0 (rule: exclusiveMinimum)',
  ]);
  assert.match(reasons({ maxBufferedEvents: 1000, maxInFlight: 1500 })[0] ?? '', /^archive\.maxInFlight: must be at least 2 × maxBufferedEvents \(2000\)/);
});
