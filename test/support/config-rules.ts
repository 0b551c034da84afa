import assert from 'node:assert/strict';
import { loadConfig } from '../../pipeline/config/load.js';
import type { TallyConfig } from '../../pipeline/config/types.js';
import { TallyError } from '../../pipeline/errors.js';

/** The configuration from --set assignments alone (no file, no environment). */
export const loadWith = (...sets: string[]): TallyConfig => loadConfig({ env: {}, sets });

/** The CONFIG_INVALID error these assignments must cause (the test fails if they load). */
export function rejectedConfig(sets: string[]): TallyError {
  try {
    loadWith(...sets);
  } catch (error) {
    assert.ok(error instanceof TallyError, `expected a TallyError, got ${String(error)}`);
    assert.equal(error.code, 'CONFIG_INVALID');
    return error;
  }
  assert.fail(`expected ${sets.join(' ')} to be rejected`);
}
