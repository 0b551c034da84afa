import type { Admin, Bus } from '../../pipeline/bus/types.js';
import type { DeadLetter } from '../../pipeline/dlq.js';

/** End offsets per partition now: what a later read starts after. */
export async function endOffsets(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const offsets = await admin.groupOffsets('tally-up-nobody', topic);
  return new Map(offsets.map((o) => [o.partition, BigInt(o.end)]));
}

/** Wait until the group committed everything of the topic. */
export async function waitCaughtUp(admin: Admin, groupId: string, topic: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const offsets = await admin.groupOffsets(groupId, topic);
    if (offsets.every((o) => o.lag === 0)) return;
    if (Date.now() > deadline) throw new Error(`consumer group ${groupId} did not catch up on ${topic} within ${timeoutMs} ms (lag ${offsets.reduce((s, o) => s + o.lag, 0)})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The dead letters written to a DLQ topic after `since`, read back with a throwaway consumer. */
export async function deadLettersSince(bus: Bus, admin: Admin, topic: string, since: Map<number, bigint>, timeoutMs = 15_000): Promise<DeadLetter[]> {
  const until = await endOffsets(admin, topic);
  const expected = [...until].reduce((sum, [partition, end]) => sum + Number(end - (since.get(partition) ?? 0n)), 0);
  if (expected === 0) return [];
  const letters: DeadLetter[] = [];
  const consumer = await bus.consumer({ groupId: `tally-up-dlq-${process.pid}-${Date.now()}`, topics: [topic], fromBeginning: true, commitIntervalMs: 3_600_000 });
  await consumer.run((messages) => {
    for (const message of messages) {
      consumer.done(message);
      if (BigInt(message.offset) >= (since.get(message.partition) ?? 0n) && message.value) letters.push(JSON.parse(message.value.toString('utf8')) as DeadLetter);
    }
  });
  // the transform writes dead letters in transactions: the end offsets count commit markers, which the consumer steps over
  const readToEnd = (): boolean => {
    const done = new Map(consumer.doneUpTo().map((p) => [p.partition, BigInt(p.offset)]));
    return [...until].every(([partition, end]) => end <= (since.get(partition) ?? 0n) || (done.get(partition) ?? 0n) >= end);
  };
  const deadline = Date.now() + timeoutMs;
  while (letters.length < expected && !readToEnd() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  await consumer.close({ commit: false });
  return letters;
}
