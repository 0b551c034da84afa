import type { Logger } from '../../../pipeline/log.js';

/** How a writer waits between attempts: the log for each wait, the longest wait, and the stop signal that ends a wait at once. */
export interface RetryPolicy {
  log: Logger;
  maxBackoffMs: number;
  signal: AbortSignal;
}

/** The wait after attempt `attempt` (from 1): 400 ms, doubling, at most maxMs. */
export function retryBackoffMs(attempt: number, maxMs: number): number {
  return Math.min(maxMs, 200 * 2 ** Math.min(attempt, 12));
}

/** Resolves after ms, or as soon as the signal aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
