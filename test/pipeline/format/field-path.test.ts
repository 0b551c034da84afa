import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelOf, textOf, valueAt } from '../../../pipeline/format/field-path.js';

test('valueAt: dotted paths through nested objects; a map key holding dots is matched whole, the longest first', () => {
  const event = { log: { level: 'INFO', file: { path: '/var/log/nova/nova-api.log' } }, details: { 'vm.flavor': 'm1.small', vm: { id: 'inner' }, globalpool: 'a,b' } };
  assert.equal(valueAt(event, 'log.level'), 'INFO');
  assert.equal(valueAt(event, 'log.file.path'), '/var/log/nova/nova-api.log');
  assert.deepEqual(valueAt(event, 'log.file'), { path: '/var/log/nova/nova-api.log' });
  assert.equal(valueAt(event, 'details.vm.flavor'), 'm1.small');
  assert.equal(valueAt(event, 'details.vm.id'), 'inner', 'a shorter key when the longer one does not lead on');
  assert.equal(valueAt(event, 'log.nothing'), undefined);
  assert.equal(valueAt(event, 'log.level.deeper'), undefined);
  assert.equal(valueAt('text', 'a'), undefined);
});

test('textOf: scalars as written, arrays comma-separated, objects as JSON; empty values have no text', () => {
  assert.equal(textOf('x'), 'x');
  assert.equal(textOf(0), '0');
  assert.equal(textOf(false), 'false');
  assert.equal(textOf(['iam', 'user']), 'iam,user');
  assert.equal(textOf({ a: 1 }), '{"a":1}');
  for (const empty of [undefined, null, '', [], {}]) assert.equal(textOf(empty), undefined, JSON.stringify(empty));
});

test('modelOf: ops.logs by log.level, audit.events by event.action', () => {
  assert.equal(modelOf({ log: { level: 'ERROR' } }), 'ops');
  assert.equal(modelOf({ event: { action: 'createUser' }, log: { original: 'x' } }), 'audit');
  assert.equal(modelOf({ message: 'x' }), undefined);
});
