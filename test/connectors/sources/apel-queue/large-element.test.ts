import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { startApelQueueSource } from '../../../../connectors/sources/apel-queue/source.js';
import type { DeadLetter } from '../../../../pipeline/dlq.js';
import { eventually, testLog } from '../../../support/world.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll } from '../../../support/topic-records.js';
import { quick, tempQueue } from './support.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

test('a 3 GB element is never read whole: its first 64 KiB are dead-lettered and it is set aside', { timeout: 120_000 }, async () => {
  const { bus, admin, dlq } = await isolatedBus('kafkajs', { kind: 'apel-message' });
  const { queue } = await tempQueue();
  const dir = path.join(queue, '00000001');
  await mkdir(dir, { recursive: true });
  // sparse: no disk used; readFile would refuse it (over 2 GiB) and leave it in the queue for ever
  const tmp = path.join(dir, '00000000000001.tmp');
  const handle = await open(tmp, 'w');
  await handle.write('APEL-cloud-message: v0.4\nMachineName: huge\n');
  await handle.truncate(3 * 1024 ** 3);
  await handle.close();
  await rename(tmp, path.join(dir, '00000000000001'));
  const source = await startApelQueueSource({ path: queue, ...quick }, { bus, log: testLog });
  cleanups.push(async () => {
    await source.stop();
    await admin.close();
  });
  const [message] = await readAll(bus, admin, dlq, 1);
  const letter = JSON.parse(message?.value?.toString('utf8') ?? '{}') as DeadLetter;
  assert.equal(letter.reasons[0]?.code, 'RECORD_TOO_LARGE');
  assert.match(letter.reasons[0]?.message ?? '', /is 3221225472 bytes, over maxRecordBytes/);
  assert.equal(letter.original.bytes, 65_536);
  await eventually('the element set aside', 30_000, async () => ((await readdir(path.join(queue, 'rejected')).catch(() => [])).length === 1 ? true : undefined));
  assert.equal(source.stats().setAside, 1);
  assert.equal(source.stats().unreadable, 0);
});
