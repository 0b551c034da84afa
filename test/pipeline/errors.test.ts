import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorCodes, TallyError } from '../../pipeline/errors.js';
import { projectRoot } from '../../pipeline/paths.js';

test('every error code is documented in the README', () => {
  const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
  const missing = Object.keys(errorCodes).filter((code) => !readme.includes(`\`${code}\``));
  assert.deepEqual(missing, []);
});

test('retriable defaults follow the code, and JSON carries code and message', () => {
  assert.equal(new TallyError('KAFKA_RETRIABLE', 'x').retriable, true);
  assert.equal(new TallyError('ES_RETRIABLE', 'x').retriable, true);
  assert.equal(new TallyError('RECORD_INVALID', 'x').retriable, false);
  assert.deepEqual(new TallyError('USAGE', 'bad flag').toJSON(), { code: 'USAGE', message: 'bad flag', retriable: false });
});
