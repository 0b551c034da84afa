import { randomBytes } from 'node:crypto';
import type { Bus, IncomingMessage } from './types.js';

/**
 * Read a topic from its beginning up to the end it has now (read committed), with a throwaway
 * consumer group that commits nothing. `visit` returning false stops early. Resolves with the number of messages seen.
 */
export async function readTopicToEnd(bus: Bus, topic: string, visit: (message: IncomingMessage) => boolean | void, options: { timeoutMs?: number } = {}): Promise<number> {
  const admin = await bus.admin();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.groupOffsets('tally-read-nobody', topic);
    ends = new Map(offsets.filter((o) => BigInt(o.end) > 0n).map((o) => [o.partition, BigInt(o.end)]));
  } finally {
    await admin.close();
  }
  if (ends.size === 0) return 0;
  const consumer = await bus.consumer({ groupId: `tally-read-${randomBytes(6).toString('hex')}`, topics: [topic], fromBeginning: true, commitIntervalMs: 3_600_000 });
  let seen = 0;
  let stop = false;
  const remaining = new Set(ends.keys());
  await consumer.run((messages) => {
    for (const message of messages) {
      consumer.done(message);
      if (stop) return;
      const end = ends.get(message.partition);
      if (end === undefined || BigInt(message.offset) >= end) continue;
      seen += 1;
      if (visit(message) === false) stop = true;
      if (BigInt(message.offset) >= end - 1n) remaining.delete(message.partition);
    }
  });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  // a topic written in transactions ends with a commit marker, which no message reaches: a partition done up to its end is read
  const passedEnd = (): void => {
    for (const { partition, offset } of consumer.doneUpTo()) if (BigInt(offset) >= (ends.get(partition) ?? 0n)) remaining.delete(partition);
  };
  // a partition whose last records were deleted by retention or compaction may never reach its end offset
  while (!stop && remaining.size > 0 && Date.now() < deadline) {
    passedEnd();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await consumer.close({ commit: false });
  return seen;
}
