import { setTimeout as sleep } from 'node:timers/promises';
import { isTallyError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * Runs `action` again while it fails with REGISTRY_UNREACHABLE, for up to `patienceMs` (waits of 1, 2,
 * 4… s, at most 10 s): a registry that is starting, restarting or slow under load delays a stage's
 * start instead of ending it. Any other error, or the last unreachable one, is thrown.
 */
export async function whileRegistryUnreachable<T>(action: () => Promise<T>, log: Logger, patienceMs: number): Promise<T> {
  const deadline = Date.now() + patienceMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await action();
    } catch (error) {
      const left = deadline - Date.now();
      if (!isTallyError(error, 'REGISTRY_UNREACHABLE') || left <= 0) throw error;
      const waitMs = Math.min(1000 * 2 ** (attempt - 1), 10_000, left);
      log.warn({ code: error.code, attempt, waitMs }, `${error.message}; trying again in ${waitMs} ms`);
      await sleep(waitMs);
    }
  }
}
