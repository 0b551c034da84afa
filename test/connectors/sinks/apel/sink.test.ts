import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startApelSink, type ApelSink } from '../../../../connectors/sinks/apel/sink.js';
import type { Admin } from '../../../../pipeline/bus/types.js';
import type { DeadLetter } from '../../../../pipeline/dlq.js';
import { backends, eventually, testLog, uniqueName } from '../../../support/world.js';
import { dirq } from '../../../interop/apel/tools.js';
import { accelerator, ip, s, storage, vm } from './records.js';
import { checkMessage, committed, domainRecord, isolatedBus, tempQueue, type ParsedMessage } from './support.js';

const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('tally sink apel on the real Kafka, read back with python3-dirq', { timeout: 180_000 }, () => {
  const admins: Admin[] = [];
  const sinks: ApelSink[] = [];
  after(async () => {
    for (const sink of sinks) await sink.stop().catch(() => undefined);
    for (const admin of admins) await admin.close().catch(() => undefined);
  });

  for (const backend of backends) test(`every record type into its own messages, valid for APEL and ssmsend; the latest snapshot wins; non-ASCII comes out ASCII; energy skipped, unrenderable to the DLQ of its kind (${backend})`, async () => {
    const { bus, admin } = await isolatedBus(3, backend);
    admins.push(admin);
    const queue = await tempQueue();
    const producer = await bus.producer();
    // VM 7 is running: cASO sends it again with growing durations (its measurement time grows with them)
    const vms = Array.from({ length: 250 }, (_, i) => vm({ vm_uuid: uuid(i), machine_name: `vm ${i}`, wall_duration_seconds: 1000 + i, ...(i === 7 ? { end_time: null } : {}) }));
    await producer.send(vms.slice(0, 100).map((r) => domainRecord(bus, 'cloud.vm', r)));
    await producer.send([domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(7), machine_name: 'vm 7', wall_duration_seconds: 5000, end_time: null }))]);
    await producer.send(vms.slice(100).map((r) => domainRecord(bus, 'cloud.vm', r)));
    await producer.send([domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(7), machine_name: 'vm 7', wall_duration_seconds: 9000, end_time: null }))]);
    await producer.send([
      domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(1000), machine_name: 'caf\u00e9 \u00fcber', global_user_name: 'Jos\u00e9' })),
      domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(1001), site_name: 'Z\u00fcrich' }), 'caso-json'),
      ...[4, 6, 4].map((v, i) => domainRecord(bus, 'cloud.ip', ip({ local_group: `project-${i}`, ip_version: v, ip_count: i, fqan: 'v\u00e9' }))),
      domainRecord(bus, 'cloud.accelerator', accelerator()),
      domainRecord(bus, 'cloud.accelerator', accelerator({ model: 'Foobar A300', count: 0.5 })),
      domainRecord(bus, 'cloud.storage', storage()),
      domainRecord(bus, 'cloud.storage', storage({ record_id: 'vol-2', group: 'vo/\u00e9' })),
      { topic: bus.topic('cloud.energy'), key: 'e1', value: Buffer.from('no APEL message type') },
      { topic: bus.topic('cloud.energy'), key: 'e2', value: Buffer.from('no APEL message type') },
    ]);
    await producer.close();

    const groupId = uniqueName('sink-apel');
    const sink = await startApelSink({ bus, log: testLog, config: { path: queue, groupId, flushIntervalMs: 200, topics: ['cloud.vm', 'cloud.ip', 'cloud.accelerator', 'cloud.storage', 'cloud.energy'] } });
    sinks.push(sink);
    await committed(admin, groupId, ['cloud.vm', 'cloud.ip', 'cloud.accelerator', 'cloud.storage', 'cloud.energy'].map((t) => bus.topic(t)));
    const stats = sink.stats();
    await sink.stop();

    const elements = dirq.drain(queue);
    const parsed: ParsedMessage[] = elements.map((e) => checkMessage(e, 100, 512 * 1024));
    const cloud = parsed.filter((m) => m.type === 'cloud').flatMap((m) => m.records as Record<string, string>[]);
    const byVm = new Map<string, Record<string, string>[]>();
    for (const r of cloud) byVm.set(r.VMUUID ?? '', [...(byVm.get(r.VMUUID ?? '') ?? []), r]);
    assert.equal(byVm.size, 251, 'every renderable VM, once per snapshot kept');
    for (let i = 0; i < 250; i += 1) if (i !== 7) assert.deepEqual(byVm.get(uuid(i))?.map((r) => r.WallDuration), [String(1000 + i)]);
    const seven = byVm.get(uuid(7)) ?? [];
    assert.deepEqual(seven.at(-1), { ...seven.at(-1), WallDuration: '9000', EndTime: '0' }, 'the last message holding VM 7 holds its latest snapshot');
    assert.equal(byVm.get(uuid(1000))?.[0]?.MachineName, 'cafe uber');
    assert.equal(byVm.get(uuid(1000))?.[0]?.GlobalUserName, 'Jose');
    assert.equal(byVm.get(uuid(1001)), undefined, 'the non-ASCII site went to the DLQ, not into a message');
    const ips = parsed.filter((m) => m.type === 'ip').flatMap((m) => m.records as Record<string, unknown>[]);
    assert.equal(ips.length, 3);
    assert.ok(ips.every((r) => r.FQAN === 'v\u00e9'), 'JSON escapes non-ASCII losslessly');
    assert.deepEqual(parsed.filter((m) => m.type === 'accelerator').flatMap((m) => (m.records as { Count: number }[]).map((r) => r.Count)).sort(), [0.5, 3]);
    assert.equal(parsed.filter((m) => m.type === 'storage').flatMap((m) => m.records).length, 2);
    assert.ok(elements.some((e) => e.body.toString('latin1').includes('<sr:Group>vo/&#233;</sr:Group>')));
    assert.deepEqual(elements.map((e) => e.name), [...elements.map((e) => e.name)].sort(), 'python read them in name order');
    assert.ok(parsed.filter((m) => m.type === 'cloud').every((m) => m.records.length <= 100));
    assert.equal(parsed.filter((m) => m.type === 'cloud').length >= 3, true, '252 cloud records make at least three messages of at most 100');

    assert.equal(stats.skipped['cloud.energy'], 2);
    assert.equal(stats.deadLettered, 1);
    assert.ok(stats.transliterated >= 2);
    const letters: DeadLetter[] = [];
    const dlq = await bus.consumer({ groupId: uniqueName('dlq'), topics: [bus.topic('dlq.caso-json')] });
    await dlq.run((messages) => {
      for (const m of messages) letters.push(JSON.parse(m.value?.toString() ?? '{}') as DeadLetter);
    });
    await eventually('the dead letter', 30_000, () => (letters.length ? true : undefined));
    await dlq.close();
    assert.equal(letters[0]?.stage, 'sink-apel');
    assert.equal(letters[0]?.kind, 'caso-json', 'the dead letter goes to the kind the record came from');
    assert.match(letters[0]?.reasons[0]?.message ?? '', /SiteName: is not ASCII/);
    assert.equal(letters[0]?.reasons[0]?.code, 'RECORD_UNRENDERABLE');
  });

  test('within a message only the latest snapshot of a VM; messages sealed by count and by size', async () => {
    const { bus, admin } = await isolatedBus(1);
    admins.push(admin);
    const producer = await bus.producer();
    const snapshots = [1, 2, 3, 4, 5].map((n) => domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(1), wall_duration_seconds: n * 100, cpu_duration_seconds: n * 800 })));
    await producer.send([domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(2) })), ...snapshots, domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(3) }))]);

    const queue = await tempQueue();
    const groupId = uniqueName('sink-apel');
    const sink = await startApelSink({ bus, log: testLog, config: { path: queue, groupId, flushIntervalMs: 300 } });
    sinks.push(sink);
    await committed(admin, groupId, [bus.topic('cloud.vm')]);
    const [only, ...rest] = dirq.drain(queue).map((e) => checkMessage(e, 100, 512 * 1024));
    assert.equal(rest.length, 0, 'one message');
    assert.deepEqual((only?.records as Record<string, string>[]).map((r) => [r.VMUUID, r.WallDuration, r.CpuDuration]), [[uuid(2), '432000', '3456000'], [uuid(1), '500', '4000'], [uuid(3), '432000', '3456000']]);
    assert.equal(sink.stats().superseded, 4);
    await sink.stop();

    await producer.send(Array.from({ length: 350 }, (_, i) => domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(100 + i) }))));
    await producer.send(Array.from({ length: 60 }, (_, i) => domainRecord(bus, 'cloud.ip', ip({ local_group: `p-${i}`, fqan: 'x'.repeat(200) }))));
    await producer.close();
    const countQueue = await tempQueue();
    const byCount = await startApelSink({ bus, log: testLog, config: { path: countQueue, groupId: uniqueName('sink-apel'), topics: ['cloud.vm'], flushIntervalMs: 60_000 } });
    sinks.push(byCount);
    await eventually('three full messages', 30_000, () => (byCount.stats().messages >= 3 ? true : undefined));
    assert.deepEqual(dirq.browse(countQueue).map((e) => checkMessage(e, 100, 512 * 1024).records.length), [100, 100, 100], 'sealed by count; the rest waits for the flush interval');
    await byCount.stop();
    assert.deepEqual(dirq.drain(countQueue).map((e) => checkMessage(e, 100, 512 * 1024).records.length), [100, 100, 100, 53], 'stop writes what was batched (353 distinct records: the five snapshots of one VM count once)');

    const sizeQueue = await tempQueue();
    const bySize = await startApelSink({ bus, log: testLog, config: { path: sizeQueue, groupId: uniqueName('sink-apel'), topics: ['cloud.ip'], maxMessageBytes: 4096, flushIntervalMs: 100 } });
    sinks.push(bySize);
    await eventually('all 60 ip records written', 30_000, () => (bySize.stats().written === 60 ? true : undefined));
    await bySize.stop();
    const sized = dirq.drain(sizeQueue);
    assert.ok(sized.length >= 5);
    for (const e of sized) checkMessage(e, 100, 4096);
    assert.equal(sized.reduce((n, e) => n + checkMessage(e, 100, 4096).records.length, 0), 60);
  });

  test('offsets are committed only once the message is on disk: while the queue cannot be written nothing is committed', async () => {
    const { bus, admin } = await isolatedBus(1);
    admins.push(admin);
    const producer = await bus.producer();
    await producer.send(Array.from({ length: 20 }, (_, i) => domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(i) }))));
    await producer.close();
    const queue = await tempQueue();
    await writeFile(queue, 'a file where the queue directory should be');
    const groupId = uniqueName('sink-apel');
    const sink = await startApelSink({ bus, log: testLog, config: { path: queue, groupId, flushIntervalMs: 50, retryInitialMs: 50, retryMaxMs: 200 } });
    sinks.push(sink);
    await eventually('writes failing and retried', 30_000, () => (sink.stats().retries >= 3 ? true : undefined));
    const before = await admin.groupOffsets(groupId, bus.topic('cloud.vm'));
    assert.ok(before.every((o) => o.committed === '-1' || o.committed === '0'), `nothing committed while nothing is on disk (${JSON.stringify(before)})`);
    await rm(queue);
    await committed(admin, groupId, [bus.topic('cloud.vm')]);
    await sink.stop();
    assert.ok((await stat(queue)).isDirectory());
    assert.equal(dirq.drain(queue).flatMap((e) => checkMessage(e, 100, 512 * 1024).records).length, 20);
    assert.equal(path.basename(queue), 'outgoing');
  });
});
