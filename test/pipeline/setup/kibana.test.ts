import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNdjson, savedObjectsFile } from '../../../pipeline/setup/kibana.js';

test('the shipped file as NDJSON: every object of schemas/kibana/<name>.ndjson, the data views on the shipped prefix', () => {
  const file = savedObjectsFile('accounting', 'tally-');
  assert.equal(file.fileName, 'accounting.ndjson');
  assert.ok(file.objects.length > 0);
  assert.deepEqual(parseNdjson(file.ndjson), file.objects);
  assert.equal(file.objects.find((o) => o.type === 'index-pattern')?.attributes.title, 'tally-accounting-usage-*');
});

test('another index prefix: the data views point at it, nothing else changes', () => {
  const shipped = savedObjectsFile('accounting', 'tally-');
  const file = savedObjectsFile('accounting', 'acme-');
  assert.equal(file.objects.find((o) => o.type === 'index-pattern')?.attributes.title, 'acme-accounting-usage-*');
  assert.match(file.ndjson, /"title":"acme-accounting-usage-\*"/);
  assert.deepEqual(
    file.objects.filter((o) => o.type !== 'index-pattern'),
    shipped.objects.filter((o) => o.type !== 'index-pattern'),
  );
});
