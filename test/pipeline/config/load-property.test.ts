import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadConfig } from '../../../pipeline/config/load.js';
import { isTallyError } from '../../../pipeline/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hostile-config-'));
let n = 0;
const file = (text: string): string => {
  const at = path.join(dir, `c${(n += 1)}.yaml`);
  writeFileSync(at, text);
  return at;
};
const polluted = (): boolean => ({} as Record<string, unknown>).polluted !== undefined;

/** The loader's whole promise: a configuration, or a typed CONFIG_INVALID, CONFIG_UNREADABLE or USAGE error; never another throw. */
function loadsOrRefuses(load: () => unknown): void {
  try {
    load();
  } catch (error) {
    assert.ok(isTallyError(error, 'CONFIG_INVALID') || isTallyError(error, 'CONFIG_UNREADABLE') || isTallyError(error, 'USAGE'), `${String(error)}`);
  }
  assert.equal(polluted(), false, 'Object.prototype was polluted');
}

const sections = fc.constantFrom('kafka', 'elasticsearch', 'http', 'beats', 'ship', 'transform', 'topics', 'log', '__proto__', 'constructor', 'services');
const keys = fc.constantFrom('brokers', 'backend', 'port', 'maxBodyBytes', 'inputs', 'level', 'url', 'polluted', '__proto__', 'prototype', 'kinds', 'partitions');

test('any text as the configuration file: a configuration or a typed error', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => loadsOrRefuses(() => loadConfig({ file: file(text), env: {} }))), { numRuns: 300 });
});

test('any YAML mapping of sections and keys, prototype keys included: a configuration or a typed error', () => {
  fc.assert(
    fc.property(fc.dictionary(sections, fc.dictionary(keys, fc.jsonValue({ maxDepth: 2 }))), (config) => loadsOrRefuses(() => loadConfig({ file: file(stringify(config)), env: {} }))),
    { numRuns: 300 },
  );
  loadsOrRefuses(() => loadConfig({ file: file('__proto__:\n  polluted: yes\nkafka:\n  __proto__:\n    polluted: yes\n'), env: {} }));
});

test('any environment overrides and --set flags: a configuration or a typed error', () => {
  const name = fc.tuple(sections, keys).map(([s, k]) => `TALLY_${s.toUpperCase()}__${k.toUpperCase()}`);
  fc.assert(
    fc.property(fc.dictionary(name, fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('1e309', '[1,{"__proto__":{"polluted":1}}]', '{"polluted":1}', 'true', '-1', '99999999999999999999'))), fc.array(fc.tuple(fc.array(keys, { minLength: 1, maxLength: 3 }), fc.string({ maxLength: 20 })).map(([path, value]) => `${path.join('.')}=${value}`), { maxLength: 4 }), (env, sets) =>
      loadsOrRefuses(() => loadConfig({ env, sets })),
    ),
    { numRuns: 500 },
  );
});
