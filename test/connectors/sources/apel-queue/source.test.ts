import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startApelQueueSource, type ApelQueueSource } from '../../../../connectors/sources/apel-queue/source.js';
import type { Admin } from '../../../../pipeline/bus/types.js';
import type { DeadLetter } from '../../../../pipeline/dlq.js';
import { backends, eventually, testLog } from '../../../support/world.js';
import { casoWrite, dirq } from '../../../interop/apel/tools.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll, topicCount } from '../../../support/topic-records.js';
import { cloudMessage, envelopeOf, numberOf, quick, tempQueue } from './support.js';

const filesUnder = async (root: string): Promise<string[]> => {
  const out: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) if (entry.isFile()) out.push(path.relative(root, path.join(entry.parentPath, entry.name)));
  return out.sort();
};

describe('tally apel-queue on the real Kafka', { timeout: 180_000 }, () => {
  const admins: Admin[] = [];
  const sources: ApelQueueSource[] = [];
  after(async () => {
    for (const s of sources) await s.stop().catch(() => undefined);
    for (const a of admins) await a.close().catch(() => undefined);
  });

  for (const backend of backends) test(`a queue written by python3-dirq: every element produced once and removed; other readers' locks, .tmp and foreign names left alone (${backend})`, async () => {
    const { bus, admin, raw } = await isolatedBus(backend, { kind: 'apel-message' });
    admins.push(admin);
    const { queue } = await tempQueue();
    const total = 250;
    const names = dirq.add(queue, Array.from({ length: total }, (_, i) => cloudMessage(i)));
    const lockedByOther = names[7] ?? '';
    assert.ok(dirq.lock(queue, lockedByOther));
    const directory = lockedByOther.slice(0, 8);
    await writeFile(path.join(queue, directory, 'ffffffffffffff.tmp'), cloudMessage(999_001));
    await writeFile(path.join(queue, directory, 'FFFFFFFFFFFFFF'), cloudMessage(999_002));
    await mkdir(path.join(queue, 'not-a-dirq-dir'));
    await writeFile(path.join(queue, 'not-a-dirq-dir', 'eeeeeeeeeeeeee'), cloudMessage(999_003));

    const source = await startApelQueueSource({ path: queue, ...quick, batchMaxElements: 40 }, { bus, log: testLog });
    sources.push(source);
    const records = await readAll(bus, admin, raw, total - 1);
    await eventually('every unlocked element removed', 30_000, async () => ((await filesUnder(queue)).length === 5 ? true : undefined));
    await source.stop();

    assert.equal(records.length, total - 1, 'each element exactly once');
    const byNumber = new Map(records.map((r) => [numberOf(envelopeOf(r).message), r]));
    assert.equal(byNumber.size, total - 1);
    for (const [i, name] of names.entries()) {
      const record = byNumber.get(i);
      if (name === lockedByOther) {
        assert.equal(record, undefined, "another reader's locked element is not read");
        continue;
      }
      assert.ok(record, `element ${i} produced`);
      const envelope = envelopeOf(record);
      assert.equal(envelope.message, cloudMessage(i), 'the message is the element text, byte for byte');
      assert.equal(envelope.input?.type, 'apel-queue');
      assert.equal(envelope.log?.file?.path, path.join(queue, name));
      assert.equal(record.key?.toString(), name, 'the Kafka key is the element name (the SSM message id)');
    }
    assert.deepEqual(await filesUnder(queue), [`${directory}/FFFFFFFFFFFFFF`, `${directory}/ffffffffffffff.tmp`, lockedByOther, `${lockedByOther}.lck`, 'not-a-dirq-dir/eeeeeeeeeeeeee'].sort());
    const stats = source.stats();
    assert.equal(stats.elements, total - 1);
    assert.ok(stats.lockedByOthers >= 1);
    assert.ok(stats.temporaries >= 1);
    assert.equal(stats.unreadable, 0);
  });

  test("cASO's own SSM messenger writes the queue: each of its messages reaches Kafka byte for byte", async () => {
    const { bus, admin, raw } = await isolatedBus('kafkajs', { kind: 'apel-message' });
    admins.push(admin);
    const { queue } = await tempQueue();
    const base = { site_name: 'TEST-Site', compute_service: 'Fake Cloud Service' };
    const vm = (n: number, name: string) => ({ type: 'cloud' as const, fields: { ...base, uuid: `721cf1db-0e0f-4c24-a5ea-cd75e0f3030${n}`, name, user_id: 'u1', group_id: 'p1', fqan: 'vo.example.org', status: 'started', start_time: 1684619946, end_time: null, cpu_count: 2, memory: 2048, disk: 20, wall_duration: 3600 * n, cpu_duration: 7200 * n } });
    casoWrite(
      queue,
      [
        vm(1, 'vm one'),
        vm(2, 'vm d\u00e9j\u00e0 vu'),
        vm(3, 'vm three'),
        { type: 'ip', fields: { ...base, uuid: '9a0c4f1e-2d3b-4c5d-8e7f-8a9b0c1d2e3f', user_id: null, user_dn: null, group_id: 'p1', fqan: 'vo.example.org', ip_version: 4, public_ip_count: 3, measure_time: 1704888000 } },
        { type: 'accelerator', fields: { ...base, uuid: '99cf5d02-a573-46a1-b90d-0f7327126876', user_dn: 'user', fqan: 'vo.example.org', count: 2, available_duration: 5000, measurement_month: 6, measurement_year: 2024, accelerator_type: 'GPU', model: 'NVIDIA A100' } },
        { type: 'storage', fields: { ...base, uuid: '5b2c8e1a-0000-4000-8000-000000000001', name: 'vol1', user_id: 'u1', group_id: 'p1', fqan: 'vo.example.org', active_duration: 86400, status: 'available', capacity: 10, start_time: 1704801600, measure_time: 1704888000, volume_creation: 1704067200 } },
      ],
      2,
    );
    const written = dirq.browse(queue);
    assert.equal(written.length, 5, 'cloud (2 records), cloud (1), ip, accelerator, storage');

    const source = await startApelQueueSource({ path: queue, ...quick }, { bus, log: testLog });
    sources.push(source);
    const records = await readAll(bus, admin, raw, written.length);
    await eventually('the queue emptied', 30_000, async () => ((await filesUnder(queue)).length === 0 ? true : undefined));
    await source.stop();
    const byKey = new Map(records.map((r) => [r.key?.toString(), envelopeOf(r).message]));
    assert.equal(byKey.size, written.length);
    for (const element of written) assert.equal(byKey.get(element.name), element.body.toString('utf8'), `${element.name} byte for byte`);
    assert.match(byKey.get(written[0]?.name) ?? '', /^APEL-cloud-message: v0\.4\n/);
    assert.ok([...byKey.values()].some((m) => m.includes('MachineName: vm d\u00e9j\u00e0 vu')), 'cASO writes non-ASCII as UTF-8; it arrives as is (the APEL sink makes its output ASCII)');
  });

  test('an element Kafka does not acknowledge is never removed: it stays locked while retried, and stop releases the lock', async () => {
    // neither the raw topic nor the dead-letter topic takes it
    const { bus, admin, raw } = await isolatedBus('kafkajs', { kind: 'apel-message', configs: { raw: { 'max.message.bytes': '4096' }, dlq: { 'max.message.bytes': '4096' } } });
    admins.push(admin);
    const { queue } = await tempQueue();
    const [big] = dirq.add(queue, [`${cloudMessage(1)}ImageId: ${randomBytes(10_000).toString('hex')}\n`]);
    const source = await startApelQueueSource({ path: queue, ...quick }, { bus, log: testLog });
    sources.push(source);
    await eventually('a few refused sends', 30_000, () => (source.stats().retries >= 3 ? true : undefined));
    assert.ok(existsSync(path.join(queue, `${big}.lck`)), 'locked while retried');
    assert.ok(existsSync(path.join(queue, big ?? '')), 'not removed');
    assert.equal(await topicCount(admin, raw), 0);
    await source.stop();
    assert.deepEqual(await filesUnder(queue), [big], 'stop released the lock; the element waits for the next run');
    assert.equal(source.stats().elements, 0);
  });

  test('a batch Kafka refuses as too large is sent element by element; an element it refuses alone is set aside and dead-lettered', async () => {
    const { bus, admin, raw, dlq } = await isolatedBus('kafkajs', { kind: 'apel-message', configs: { raw: { 'max.message.bytes': '80000' } } });
    admins.push(admin);
    const { queue } = await tempQueue();
    const huge = `${cloudMessage(3)}ImageId: ${randomBytes(150_000).toString('hex')}\n`;
    const names = dirq.add(queue, [cloudMessage(1), cloudMessage(2), huge, cloudMessage(4), cloudMessage(5)]);
    const source = await startApelQueueSource({ path: queue, ...quick }, { bus, log: testLog });
    sources.push(source);
    const records = await readAll(bus, admin, raw, 4);
    const letters = (await readAll(bus, admin, dlq, 1)).map((m) => JSON.parse(m.value?.toString() ?? '{}') as DeadLetter);
    await eventually('queue emptied', 30_000, async () => (dirq.count(queue) === 0 ? true : undefined));
    await source.stop();
    // the refused request may have written the other partitions' records: resent, they are duplicates (at-least-once), never losses
    assert.deepEqual([...new Set(records.map((r) => numberOf(envelopeOf(r).message)))].sort(), [1, 2, 4, 5]);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.source?.key, names[2]);
    assert.match(letters[0]?.reasons[0]?.message ?? '', /Kafka refused .* as too large/);
    assert.equal(await readFile(path.join(queue, 'rejected', names[2]?.replace('/', '-') ?? ''), 'utf8'), huge);
  });

  test("a dead reader's stale lock is purged after staleLockSeconds, and then the element is read", async () => {
    const { bus, admin, raw } = await isolatedBus('kafkajs', { kind: 'apel-message' });
    admins.push(admin);
    const { queue } = await tempQueue();
    const [stale, fresh] = dirq.add(queue, [cloudMessage(1), cloudMessage(2)]);
    assert.ok(dirq.lock(queue, stale ?? ''));
    assert.ok(dirq.lock(queue, fresh ?? ''));
    const longAgo = new Date(Date.now() - 120_000);
    await utimes(path.join(queue, stale ?? ''), longAgo, longAgo);
    const source = await startApelQueueSource({ path: queue, ...quick, staleLockSeconds: 60 }, { bus, log: testLog });
    sources.push(source);
    const records = await readAll(bus, admin, raw, 1);
    await new Promise((r) => setTimeout(r, 500));
    await source.stop();
    assert.deepEqual(records.map((r) => r.key?.toString()), [stale]);
    assert.equal(source.stats().purged.locks, 1);
    assert.deepEqual(await filesUnder(queue), [fresh, `${fresh}.lck`].sort(), 'a young lock is respected');
  });

  test('empty directories are purged except the newest, and directories vanishing mid-pass do no harm', async () => {
    const { bus, admin, raw } = await isolatedBus('kafkajs', { kind: 'apel-message' });
    admins.push(admin);
    const { queue } = await tempQueue();
    const empties = Array.from({ length: 40 }, (_, i) => (0x10000000 + i).toString(16));
    for (const d of empties) await mkdir(path.join(queue, d), { recursive: true });
    const source = await startApelQueueSource({ path: queue, ...quick, pollIntervalMs: 10 }, { bus, log: testLog });
    sources.push(source);
    // another process creating and removing directories while passes run
    let churn = true;
    const churning = (async () => {
      for (let round = 0; churn; round += 1) {
        const d = (0x20000000 + (round % 20)).toString(16);
        await mkdir(path.join(queue, d), { recursive: true }).catch(() => undefined);
        await new Promise((r) => setImmediate(r));
        await rmdir(path.join(queue, d)).catch(() => undefined);
      }
    })();
    const total = 60;
    for (let i = 0; i < total; i += 10) {
      dirq.add(queue, Array.from({ length: 10 }, (_, j) => cloudMessage(i + j)));
      await new Promise((r) => setTimeout(r, 50));
    }
    const records = await readAll(bus, admin, raw, total);
    churn = false;
    await churning;
    await source.stop();
    assert.equal(new Set(records.map((r) => numberOf(envelopeOf(r).message))).size, total);
    const left = (await readdir(queue)).filter((d) => /^[0-9a-f]{8}$/.test(d) && d.startsWith('1'));
    assert.deepEqual(left, [], 'the old empty directories were purged');
    assert.equal(source.stats().unreadable, 0);
    assert.ok(source.stats().purged.directories >= empties.length);
  });

  test('an element that is not UTF-8 becomes a dead letter with its bytes; one too large for Kafka is set aside and dead-lettered', async () => {
    const { bus, admin, dlq } = await isolatedBus('kafkajs', { kind: 'apel-message' });
    admins.push(admin);
    const { queue } = await tempQueue();
    const latin1 = Buffer.from('APEL-cloud-message: v0.4\nMachineName: caf\xe9\n', 'latin1');
    const huge = `${cloudMessage(5)}ImageId: ${'x'.repeat(5000)}\n`;
    const [notUtf8, tooLarge] = dirq.add(queue, [latin1, huge]);
    const source = await startApelQueueSource({ path: queue, ...quick, maxRecordBytes: 2048, batchMaxBytes: 4096 }, { bus, log: testLog });
    sources.push(source);
    const letters = (await readAll(bus, admin, dlq, 2)).map((m) => JSON.parse(m.value?.toString() ?? '{}') as DeadLetter);
    await eventually('queue emptied', 30_000, async () => ((await readdir(path.join(queue, notUtf8?.slice(0, 8) ?? ''))).length === 0 ? true : undefined));
    await source.stop();
    const byKey = new Map(letters.map((l) => [l.source?.key, l]));
    const bad = byKey.get(notUtf8);
    assert.equal(bad?.reasons[0]?.code, 'RECORD_UNPARSABLE');
    assert.equal(bad?.stage, 'apel-queue');
    assert.equal(bad?.original.encoding, 'base64');
    assert.deepEqual(Buffer.from(bad?.original.data ?? '', 'base64'), latin1);
    const large = byKey.get(tooLarge);
    assert.equal(large?.reasons[0]?.code, 'RECORD_TOO_LARGE');
    const aside = path.join(queue, 'rejected', tooLarge?.replace('/', '-') ?? '');
    assert.match(large?.reasons[0]?.message ?? '', new RegExp(aside.replaceAll('/', '\\/')));
    assert.equal(await readFile(aside, 'utf8'), huge, 'the whole element is kept where dirq and SSM do not look');
    assert.deepEqual(dirq.browse(queue), [], 'nothing left for SSM');
    assert.equal(source.stats().deadLettered, 2);
    assert.equal(source.stats().setAside, 1);
  });
});
