import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin } from '../../../pipeline/bus/types.js';
import { testBus, uniqueName } from '../../support/world.js';

/**
 * Stages of several pipelines starting at once each create their topics; a broker busy electing
 * leaders for the others' partitions answered UNKNOWN_TOPIC_OR_PARTITION and `tally transform`
 * exited 1 before it ran (seen in the fault suite). Creating topics waits that moment out.
 */
test('many processes creating overlapping topics at once all succeed, and every partition then has a leader', { timeout: 180_000 }, async () => {
  const bus = testBus('kafkajs');
  const admins: Admin[] = [];
  after(async () => {
    for (const admin of admins) await admin.close().catch(() => undefined);
  });
  const shared = Array.from({ length: 6 }, (_, i) => `${uniqueName('create-shared')}-${i}`);
  const creators = Array.from({ length: 8 }, (_, n) => [...shared, ...Array.from({ length: 4 }, (_, i) => `${uniqueName(`create-own-${n}`)}-${i}`)]);
  for (let n = 0; n < creators.length; n++) admins.push(await bus.admin());
  const outcomes = await Promise.allSettled(creators.map((names, n) => admins[n]?.createTopics(names.map((topic) => ({ topic, partitions: 8 })))));
  const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => (o.reason as Error).message);
  assert.deepEqual(failures, [], 'no creator failed');
  const admin = admins[0] as Admin;
  for (const topic of new Set(creators.flat())) assert.equal(await admin.partitionCount(topic), 8, `${topic} has its 8 partitions`);
  await admin.deleteTopics([...new Set(creators.flat())]);
});
