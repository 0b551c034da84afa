import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountingLineFilter, lineFilter, resolveFileTailConfig } from '../../../../connectors/sources/file-tail/config.js';
import { isTallyError } from '../../../../pipeline/errors.js';

test('accounting defaults: the NEANIAS line filter and the accounting tag', () => {
  const config = resolveFileTailConfig({ paths: ['/var/log/x.json'] });
  assert.equal(config.kind, 'accounting');
  assert.deepEqual(config.include, [accountingLineFilter]);
  assert.deepEqual(config.tags, ['accounting']);
  const keep = lineFilter(config);
  assert.ok(keep('{"timestamp":"2024-01-01T00:00:00Z","level":"accounting","value":1}'));
  assert.ok(keep('{"Level" : "accounting"}'));
  assert.ok(!keep('{"level":"info","message":"accounting"}'));
  assert.ok(!keep(''));
});

test('other kinds have no filter; include then exclude; (?i) becomes a flag', () => {
  const config = resolveFileTailConfig({ paths: ['/x'], kind: 'oslo-log', exclude: ['(?i)debug'] });
  assert.equal(config.include, undefined);
  assert.deepEqual(config.tags, []);
  const keep = lineFilter(config);
  assert.ok(keep('2024 INFO nova x'));
  assert.ok(!keep('2024 DEBUG nova x'));
  const both = lineFilter({ include: ['nova'], exclude: ['DEBUG'] });
  assert.ok(both('nova INFO'));
  assert.ok(!both('nova DEBUG'));
  assert.ok(!both('glance INFO'));
});

test('errors name the key and the rule', () => {
  const fail = (input: unknown) => {
    try {
      resolveFileTailConfig(input);
    } catch (error) {
      assert.ok(isTallyError(error, 'CONFIG_INVALID'));
      return error.message;
    }
    assert.fail('expected an error');
  };
  assert.match(fail({}), /ship\.paths: is required/);
  assert.match(fail({ paths: ['/x'], maxLineBytes: 'big' }), /ship\.maxLineBytes: must be integer/);
  assert.match(fail({ paths: ['/x'], colour: 1 }), /ship\.colour: unknown key/);
  assert.match(fail({ paths: ['/x'], include: ['(unclosed'] }), /ship\.include\[0\]: "\(unclosed" is not a valid regular expression/);
  assert.match(fail({ paths: ['/x'], keyBy: 'random' }), /ship\.keyBy: must be one of "stream", "line"/);
});
