import type { RejectionReason } from '../../dlq.js';

/** A parser's problem with where it happened appended, as every reason ends. */
export function withOrigin(problem: RejectionReason, origin: string): RejectionReason {
  return { ...problem, message: `${problem.message} (${origin})` };
}
