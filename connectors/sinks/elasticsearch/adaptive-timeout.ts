import { longestRequestTimeoutFactor } from '../../../pipeline/elasticsearch/client.js';

/**
 * The bulk request timeout of a sink. Elasticsearch goes on executing a bulk request whose client
 * timed out, so sending it again at once, with the same timeout, only queues more of the same work
 * behind it: on a starved node every attempt times out and the sink never catches up. After each
 * timed-out pass the timeout doubles (up to 16×, the longest the client lets a request wait); the
 * first pass that completes brings it back.
 */
export function adaptiveTimeout(baseMs: number, maxFactor = longestRequestTimeoutFactor): { current(): number; after(pass: { timedOut?: boolean }): void } {
  let factor = 1;
  return {
    current: () => baseMs * factor,
    after(pass) {
      factor = pass.timedOut ? Math.min(maxFactor, factor * 2) : 1;
    },
  };
}
