import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TallyError } from '../../../pipeline/errors.js';
import { abandonedNativeCalls, isAbandonedCall, withNativeDeadline } from '../../../pipeline/bus/native-calls.js';

test('a native call past its deadline is abandoned: a retriable KAFKA_RETRIABLE naming it, and listed; one in time is not', async () => {
  assert.equal(await withNativeDeadline('quick call', 1_000, Promise.resolve(7)), 7);
  await assert.rejects(withNativeDeadline('failing call', 1_000, Promise.reject(new Error('refused'))), (error: Error) => !isAbandonedCall(error) && error.message === 'refused');
  assert.deepEqual(abandonedNativeCalls(), []);

  const error = await withNativeDeadline('sendOffsetsToTransaction of t-1', 50, new Promise<never>(() => undefined)).catch((e: unknown) => e);
  assert.ok(error instanceof TallyError);
  assert.equal(error.code, 'KAFKA_RETRIABLE');
  assert.ok(error.retriable);
  assert.match(error.message, /sendOffsetsToTransaction of t-1 did not return within 0 s/);
  assert.ok(isAbandonedCall(error));
  assert.deepEqual(abandonedNativeCalls(), ['sendOffsetsToTransaction of t-1']);
});
