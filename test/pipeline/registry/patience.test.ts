import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TallyError } from '../../../pipeline/errors.js';
import { whileRegistryUnreachable } from '../../../pipeline/registry/patience.js';
import { testLog } from '../../support/world.js';

const unreachable = () => new TallyError('REGISTRY_UNREACHABLE', 'schema registry http://127.0.0.1:1/apis/ccompat/v7 (t-value) is unreachable: connect ECONNREFUSED');

test('an unreachable registry is asked again until it answers', async () => {
  let calls = 0;
  const started = Date.now();
  const id = await whileRegistryUnreachable(async () => {
    calls += 1;
    if (calls < 3) throw unreachable();
    return 42;
  }, testLog, 30_000);
  assert.equal(id, 42);
  assert.equal(calls, 3);
  assert.ok(Date.now() - started >= 2900, 'waited 1 s, then 2 s');
});

test('past its patience the last unreachable error is thrown', async () => {
  let calls = 0;
  const started = Date.now();
  await assert.rejects(whileRegistryUnreachable(async () => {
    calls += 1;
    throw unreachable();
  }, testLog, 2500), (error: unknown) => error instanceof TallyError && error.code === 'REGISTRY_UNREACHABLE');
  const took = Date.now() - started;
  assert.ok(calls >= 2 && took >= 2500 && took < 10_000, `${calls} calls in ${took} ms`);
});

test('any other error ends it at once', async () => {
  let calls = 0;
  await assert.rejects(whileRegistryUnreachable(async () => {
    calls += 1;
    throw new TallyError('REGISTRY_INCOMPATIBLE', 'incompatible');
  }, testLog, 30_000), /incompatible/);
  assert.equal(calls, 1);
});
