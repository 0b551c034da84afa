import type { Admin, Bus, IncomingMessage } from '../../pipeline/bus/types.js';
import { eventually, uniqueName } from './world.js';

/** How many records a topic holds now (the sum of its partitions' end offsets: no compaction or transactions here). */
export async function topicCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.groupOffsets('tally-test-count-nobody', topic);
  return offsets.reduce((sum, p) => sum + Number(p.end), 0);
}

export async function waitForCount(admin: Admin, topic: string, atLeast: number, timeoutMs = 60_000): Promise<number> {
  return eventually(`${atLeast} records in ${topic}`, timeoutMs, async () => {
    const n = await topicCount(admin, topic);
    return n >= atLeast ? n : undefined;
  });
}

/**
 * Every record of the topic, read back with a consumer of its own: all it holds now, or once it
 * holds `atLeast`. `settleMs` reads on that long, so a record sent twice would show.
 */
export async function readAll(bus: Bus, admin: Admin, topic: string, atLeast = 0, options: { settleMs?: number; timeoutMs?: number } = {}): Promise<IncomingMessage[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const total = atLeast > 0 ? await waitForCount(admin, topic, atLeast, timeoutMs) : await topicCount(admin, topic);
  const seen: IncomingMessage[] = [];
  if (total === 0) return seen;
  const consumer = await bus.consumer({ groupId: uniqueName('test-read'), topics: [topic], fromBeginning: true, commitIntervalMs: 60_000 });
  try {
    await consumer.run((messages) => {
      for (const m of messages) {
        seen.push(m);
        consumer.done(m);
      }
    });
    await eventually(`${total} records read from ${topic}`, timeoutMs, () => (seen.length >= total ? true : undefined));
    if (options.settleMs) await new Promise((resolve) => setTimeout(resolve, options.settleMs));
  } finally {
    await consumer.close({ commit: false });
  }
  return seen;
}
