import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createBus } from '../../pipeline/bus/index.js';
import { readTopicToEnd } from '../../pipeline/bus/read-topic.js';
import { projectRoot } from '../../pipeline/paths.js';
import type { Admin } from '../../pipeline/bus/types.js';
import { casoWrite, dirq, type CasoRecordSpec } from '../interop/apel/tools.js';
import { eventually, testConfig, testLog } from '../support/world.js';
import { caughtUp, extendConfig, pipelineWorld, startStage, type StageProcess } from './pipeline.js';

/**
 * cASO → Tally → SSM: cASO's own record classes and SSM messenger write the queue a site has
 * today; `tally apel-queue`, `tally transform` and `tally sink apel` run as processes on the real
 * Kafka; Debian's python3-dirq reads Tally's outgoing queue the way ssmsend does.
 */
const base = { site_name: 'TEST-Site', compute_service: 'Fake Cloud Service' };
const vm = (uuid: string, extra: Record<string, unknown>): CasoRecordSpec => ({ type: 'cloud', fields: { ...base, uuid, user_id: 'u1', group_id: 'p1', fqan: 'vo.example.org', status: 'started', start_time: 1704873600, end_time: null, cpu_count: 2, memory: 2048, disk: 20, ...extra } });
const firstRun: CasoRecordSpec[] = [
  vm('0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11', { name: 'vm-running', wall_duration: 3600, cpu_duration: 7000 }),
  vm('1f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c12', { name: 'vm-zero-cpu', status: 'completed', end_time: 1704877200, cpu_count: 0, wall_duration: 3600, cpu_duration: 0 }),
  vm('2f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c13', { name: 'vm d\u00e9j\u00e0 vu', user_dn: 'J\u00fcrgen Gro\u00df', status: 'completed', end_time: 1704877300, wall_duration: 3700, cpu_duration: 3000 }),
  { type: 'ip', fields: { ...base, uuid: '9a0c4f1e-2d3b-4c5d-8e7f-8a9b0c1d2e3f', user_id: null, user_dn: null, group_id: 'p1', fqan: 'vo.example.org', ip_version: 4, public_ip_count: 3, measure_time: 1704888000 } },
  { type: 'accelerator', fields: { ...base, uuid: '99cf5d02-a573-46a1-b90d-0f7327126876', user_dn: 'someone@example.org', fqan: 'vo.example.org', count: 2, available_duration: 5000, measurement_month: 1, measurement_year: 2024, accelerator_type: 'GPU', model: 'NVIDIA A100' } },
  { type: 'storage', fields: { ...base, uuid: '5b2c8e1a-0000-4000-8000-000000000001', name: 'vol1', user_id: 'u1', user_dn: 'someone', group_id: 'p1', fqan: 'vo.example.org', active_duration: 86400, status: 'available', capacity: 10, start_time: 1704801600, measure_time: 1704888000, volume_creation: 1704067200 } },
];
// cASO's next run: the running VM again, with its cumulative durations grown
const secondRun: CasoRecordSpec[] = [vm('0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11', { name: 'vm-running', wall_duration: 7200, cpu_duration: 14000 })];

type Fields = Map<string, string>;

/** The records of an APEL cloud message as key → value maps, checking the loader's rules on the way. */
function cloudRecords(body: string): Fields[] {
  assert.match(body, /^APEL-cloud-message: v0\.4\n/, 'the v0.4 header');
  assert.ok(!/\n\n/.test(body) && !body.endsWith('%%\n'), 'no blank line, no trailing separator');
  return body
    .split('\n')
    .slice(1)
    .join('\n')
    .split(/^%%$/m)
    .map((chunk) => chunk.split('\n').filter((line) => line !== ''))
    .filter((lines) => lines.length > 0)
    .map((lines) => {
      const keys = lines.map((line) => line.slice(0, line.indexOf(':')));
      assert.deepEqual(keys, [...keys].sort(), 'keys in sorted order');
      return new Map(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
    });
}

const usageRecords = (body: string): Record<string, unknown>[] => ((JSON.parse(body) as { UsageRecords: Record<string, unknown>[] }).UsageRecords ?? []).slice().sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe("cASO's SSM queue → apel-queue → transform → sink apel → an SSM outgoing queue python3-dirq reads", { timeout: 300_000 }, () => {
  const stages: StageProcess[] = [];
  const admins: Admin[] = [];
  after(async () => {
    for (const stage of stages) await stage.kill('SIGKILL');
    for (const admin of admins) await admin.close().catch(() => undefined);
  });

  test('every cloud, IP, accelerator and storage record comes out with the values cASO wrote, the running VM as its latest snapshot only, every message by the rules', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-caso-apel-'));
    const incoming = path.join(dir, 'caso-outgoing');
    const outgoing = path.join(dir, 'apel-outgoing');
    casoWrite(incoming, firstRun);
    casoWrite(incoming, secondRun);
    const written = dirq.browse(incoming);
    assert.equal(written.length, 5, 'cASO wrote cloud, ip, accelerator, storage, then the second run');

    const world = await pipelineWorld('caso-apel');
    const groups = { transform: `${world.topicPrefix}transform`, apel: `${world.topicPrefix}apel` };
    await extendConfig(world, {
      apelQueue: { path: incoming, pollIntervalMs: 100 },
      transform: { groupId: groups.transform, kinds: ['apel-message', 'caso-json'] },
      sinks: { apel: { path: outgoing, groupId: groups.apel, flushIntervalMs: 3000 } },
    });
    const bus = createBus(testConfig([`kafka.topicPrefix=${world.topicPrefix}`]).kafka, testLog);
    const admin = await bus.admin();
    admins.push(admin);
    stages.push(await startStage(world, ['apel-queue'], /tally apel-queue reading/));
    stages.push(await startStage(world, ['transform'], /tally transform running/));
    stages.push(await startStage(world, ['sink', 'apel'], /tally sink apel:/));
    // cASO's energy records exist only as JSON (its SSM messenger refuses them): they come over tally http
    const http = await startStage(world, ['http', '--port', '0'], /tally http listening on (\S+)/);
    stages.push(http);
    const url = /tally http listening on (\S+)/.exec(http.output())?.[1] ?? '';
    const energy = await readFile(path.join(projectRoot, 'test/fixtures/caso-json/energy.ndjson'));
    const posted = await fetch(`${url}/ingest/caso-json`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: energy });
    assert.equal(posted.status, 200, 'accepted only after Kafka acknowledged');

    await eventually('cASO\'s queue emptied by apel-queue', 60_000, () => (dirq.count(incoming) === 0 ? true : undefined));
    await caughtUp(admin, groups.transform, bus.topic('raw.apel-message'), 60_000);
    for (const topic of ['cloud.vm', 'cloud.ip', 'cloud.accelerator', 'cloud.storage']) await caughtUp(admin, groups.apel, bus.topic(topic), 60_000);
    await caughtUp(admin, groups.transform, bus.topic('raw.caso-json'), 60_000);
    // records, not offsets: with exactly-once (the default) each transaction leaves a commit marker in the partitions it wrote
    const records = (topic: string) => readTopicToEnd(bus, bus.topic(topic), () => undefined);
    assert.equal(await records('cloud.energy'), 2, "cASO's two energy records normalised onto cloud.energy");
    assert.equal(await records('dlq.apel-message'), 0, 'nothing rejected');
    assert.equal(await records('dlq.caso-json'), 0);
    for (const stage of stages) assert.equal(await stage.kill('SIGTERM'), 0, 'each stage drains and exits 0');

    const out = dirq.drain(outgoing);
    for (const element of out) assert.ok(element.ascii, `${element.name} is ASCII only, as ssmsend needs`);
    const bodies = out.map((e) => e.body.toString('utf8'));
    const cloudOut = bodies.filter((b) => b.startsWith('APEL-cloud-message')).flatMap(cloudRecords);
    const cloudIn = written.map((e) => e.body.toString('utf8')).filter((b) => b.startsWith('APEL-cloud-message')).flatMap(cloudRecords);
    const latestIn = new Map(cloudIn.map((r) => [r.get('VMUUID'), r]));
    assert.equal(cloudOut.length, 3, 'three VMs, the running one once');
    for (const record of cloudOut) {
      const original = latestIn.get(record.get('VMUUID'));
      assert.ok(original, `VM ${record.get('VMUUID')} came from cASO`);
      const expected = new Map([...original].map(([k, v]) => [k, v.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace('\u00df', 'ss')]));
      assert.deepEqual(Object.fromEntries(record), Object.fromEntries(expected), `VM ${record.get('VMUUID')}: cASO's values (non-ASCII transliterated)`);
    }
    const running = cloudOut.find((r) => r.get('MachineName') === 'vm-running');
    assert.equal(running?.get('WallDuration'), '7200', "the running VM's latest snapshot");
    assert.equal(running?.get('CpuDuration'), '14000');
    assert.equal(cloudOut.find((r) => r.get('VMUUID')?.startsWith('2f5a'))?.get('MachineName'), 'vm deja vu');

    for (const type of ['APEL Public IP message', 'APEL-accelerator-message']) {
      const mine = bodies.filter((b) => b.includes(`"Type": "${type}"`));
      const theirs = written.map((e) => e.body.toString('utf8')).filter((b) => b.includes(`"Type": "${type}"`));
      assert.equal(mine.length, 1, `one ${type}`);
      assert.deepEqual(usageRecords(mine[0] ?? '{}'), usageRecords(theirs[0] ?? '{}'), `${type}: the records cASO wrote`);
    }
    const storage = bodies.filter((b) => b.includes('StorageUsageRecords'));
    assert.equal(storage.length, 1);
    assert.match(storage[0] ?? '', /<sr:RecordIdentity sr:createTime="[^"]+" sr:recordId="5b2c8e1a-0000-4000-8000-000000000001"/);
    assert.match(storage[0] ?? '', /<sr:ResourceCapacityUsed>10737418240<\/sr:ResourceCapacityUsed>/, '10 GiB in bytes, as cASO writes it');
  });
});
