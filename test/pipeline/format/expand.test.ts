import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandEvent } from '../../../pipeline/format/expand.js';
import { documentOf, fixtureEvents } from '../../support/fixture-events.js';

test('every field, nested objects indented, arrays inline, text with newlines as a block of real lines', () => {
  const text = expandEvent({ id: 'e1', log: { level: 'ERROR', file: { path: '/var/log/nova/nova-compute.log' }, flags: ['multiline'] }, tags: [], details: {}, message: '', error_stack_trace: 'Traceback (most recent call last):\n  File "x.py", line 1, in f\n\nValueError: boom\n', pid: 7 });
  assert.equal(
    text,
    [
      'id: e1',
      'log:',
      '  level: ERROR',
      '  file:',
      '    path: /var/log/nova/nova-compute.log',
      '  flags: [multiline]',
      'tags: []',
      'details: {}',
      'message: ""',
      'error_stack_trace: |',
      '  Traceback (most recent call last):',
      '    File "x.py", line 1, in f',
      '',
      '  ValueError: boom',
      'pid: 7',
      '',
    ].join('\n'),
  );
});

test('text holding a JSON object or array is expanded like the rest; other text stays as it is', () => {
  assert.equal(expandEvent({ rpc: '{"method": "run_instance", "args": {"ids": [1, 2]}}', list: '[{"a": 1}, {"b": "x\\ny"}]', braces: '{not json}', number: '42' }), [
    'rpc:',
    '  method: run_instance',
    '  args:',
    '    ids: [1, 2]',
    'list:',
    '  - a: 1',
    '  - b: |',
    '      x',
    '      y',
    'braces: {not json}',
    'number: 42',
    '',
  ].join('\n'));
});

test("a Nova audit line expanded: its original JSON, exc_info's traceback as lines", () => {
  const refused = fixtureEvents('openstack-audit').map(documentOf).find((e) => (e.event as { action: string }).action === 'terminate_instances');
  assert.ok(refused);
  const lines = expandEvent(refused).split('\n');
  assert.ok(lines.includes('  action: terminate_instances'));
  assert.ok(lines.includes('  reason: instance i-00000042 does not belong to project acme-research'));
  const original = lines.indexOf('  original:');
  assert.ok(original > 0);
  assert.deepEqual(lines.slice(lines.indexOf('    exc_info: |'), lines.indexOf('    exc_info: |') + 5), [
    '    exc_info: |',
    '      Traceback (most recent call last):',
    '        File "/usr/lib/python2.6/nova/api/ec2/cloud.py", line 1123, in terminate_instances',
    '          self._ensure_owner(context, instance)',
    '      NotAuthorized: instance i-00000042 does not belong to project acme-research',
  ]);
});
