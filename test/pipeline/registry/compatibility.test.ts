import { test } from 'node:test';
import assert from 'node:assert/strict';
import type avro from 'avsc';
import { fullTransitiveProblems, readProblems } from '../../../pipeline/registry/compatibility.js';

const usage = (fields: object[]): avro.Schema => ({ type: 'record', name: 'Usage', namespace: 'tally.accounting', fields: [{ name: 'id', type: 'string' }, ...fields] }) as avro.Schema;
const v1 = usage([{ name: 'duration', type: 'long' }]);

test('a new field with a default is compatible both ways', () => {
  const v2 = usage([{ name: 'duration', type: 'long' }, { name: 'site', type: ['null', 'string'], default: null }]);
  assert.deepEqual(fullTransitiveProblems(v2, [v1]), []);
});

test('a new field without a default breaks backward, naming the field and the rule', () => {
  const v2 = usage([{ name: 'duration', type: 'long' }, { name: 'site', type: 'string' }]);
  const problems = fullTransitiveProblems(v2, [v1]);
  assert.deepEqual(problems.map((p) => [p.direction, p.field, p.rule]), [['backward', 'tally.accounting.Usage.site', 'new-field-without-default']]);
});

test('a removed field without a default breaks forward (old readers need it); a type change names the field', () => {
  const dropped = usage([]);
  assert.deepEqual(fullTransitiveProblems(dropped, [v1]).map((p) => [p.direction, p.field, p.rule]), [['forward', 'tally.accounting.Usage.duration', 'new-field-without-default']]);
  const retyped = usage([{ name: 'duration', type: 'string' }]);
  const problems = readProblems(retyped, v1);
  assert.equal(problems[0]?.field, 'tally.accounting.Usage.duration');
  assert.equal(problems[0]?.rule, 'type-change');
  assert.match(problems[0]?.message ?? '', /long as written cannot be read as string/);
});

test('widening int to long reads old records but old readers cannot read the new ones: transitive over every earlier version', () => {
  const a = usage([{ name: 'n', type: 'int', default: 0 }]);
  const b = usage([{ name: 'n', type: 'long', default: 0 }]);
  const problems = fullTransitiveProblems(b, [a, a]);
  assert.deepEqual(problems.map((p) => [p.direction, p.version]), [['forward', 1], ['forward', 2]]);
});
