import { TallyError } from '../errors.js';

const abandoned: string[] = [];

/**
 * A call into a native client with a deadline of our own: librdkafka's
 * send_offsets_to_transaction ignores its timeout while the group coordinator is away
 * (confluentinc/librdkafka#5456) and held a transform's thread for good in the fault suite. Past
 * the deadline the call is abandoned: it keeps its libuv thread, the caller gets a retriable error
 * and must give up the client it belongs to without destroying it (that would wait for the call).
 */
export async function withNativeDeadline<T>(what: string, deadlineMs: number, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abandoned.push(what);
      reject(new TallyError('KAFKA_RETRIABLE', `${what} did not return within ${Math.round(deadlineMs / 1000)} s (librdkafka ignores its own timeout there, confluentinc/librdkafka#5456); its client is given up and a new one takes over`, { details: { abandonedNativeCall: true } }));
    }, deadlineMs);
  });
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function isAbandonedCall(error: unknown): boolean {
  return error instanceof TallyError && (error.details as { abandonedNativeCall?: boolean } | undefined)?.abandonedNativeCall === true;
}

/** The native calls given up on: each still holds a libuv thread, so the process cannot exit normally (exit joins those threads). */
export function abandonedNativeCalls(): readonly string[] {
  return abandoned;
}
