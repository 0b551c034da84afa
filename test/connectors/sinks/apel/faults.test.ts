import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Admin } from '../../../../pipeline/bus/types.js';
import { projectRoot } from '../../../../pipeline/paths.js';
import { dirq } from '../../../interop/apel/tools.js';
import { eventually, freePort } from '../../../support/world.js';
import { vm } from './records.js';
import { domainRecord, isolatedBus, tempQueue } from './support.js';

/**
 * `tally sink apel` as a process over cloud.vm on the shared Kafka, its queue directory made
 * unwritable mid-run: it must commit nothing past what is on disk, log the path, errno and remedy,
 * answer 503 on /readyz with the write probe named, count the retries in /metrics, and go on by
 * itself once the directory is writable again. Root ignores modes, so as root the sink runs as
 * nobody (setpriv) in a queue nobody owns.
 */
const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

async function setModes(queue: string, mode: number): Promise<void> {
  await chmod(queue, mode);
  for (const name of await readdir(queue)) await chmod(path.join(queue, name), mode);
}

describe('tally sink apel: the queue directory unwritable mid-run', { timeout: 180_000 }, () => {
  const admins: Admin[] = [];
  const procs: ReturnType<typeof spawn>[] = [];
  after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const a of admins) await a.close().catch(() => undefined);
  });

  test('stalls without committing, says why, is not ready, recovers by itself; every record on disk, no .tmp left', async () => {
    const { bus, admin, prefix } = await isolatedBus(1);
    admins.push(admin);
    const queue = await tempQueue();
    await mkdir(queue, { recursive: true });
    await chmod(path.dirname(queue), 0o755);
    if (asRoot) await chown(queue, Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout), Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout));
    const topic = bus.topic('cloud.vm');
    const groupId = `${prefix}apel`;
    const port = await freePort();
    const args = ['--log-level', 'info', '--ops-port', String(port), '--set', `kafka.topicPrefix=${prefix}`, '--set', 'ops.stallTimeoutMs=1500', '--set', 'ops.lagIntervalMs=300', '--set', `sinks.apel.groupId=${groupId}`, '--set', 'sinks.apel.flushIntervalMs=200', 'sink', 'apel', '--path', queue];
    const bin = path.join(projectRoot, 'bin/tally');
    const proc = asRoot ? spawn('setpriv', ['--reuid', 'nobody', '--regid', spawnSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).stdout.trim(), '--clear-groups', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(proc);
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    await eventually('the sink running', 60_000, () => (out.includes('tally sink apel:') ? true : undefined));
    const committedOffset = async (): Promise<number> => Number((await admin.groupOffsets(groupId, topic))[0]?.committed ?? -1);
    const get = async (what: string): Promise<{ status: number; text: string }> => {
      const response = await fetch(`http://127.0.0.1:${port}${what}`, { signal: AbortSignal.timeout(5000) });
      return { status: response.status, text: await response.text() };
    };

    const producer = await bus.producer();
    await producer.send(Array.from({ length: 20 }, (_, i) => domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(i) }))));
    await eventually('the first 20 committed', 60_000, async () => ((await committedOffset()) === 20 ? true : undefined));

    await setModes(queue, 0o555);
    await producer.send(Array.from({ length: 20 }, (_, i) => domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(100 + i) }))));
    await producer.close();
    await eventually('the failure logged with path, errno and remedy', 30_000, () => (/cannot write APEL messages into [^ ]+: EACCES on [^ ]+ .*give it write access/.test(out) ? true : undefined));
    const stalled = await eventually('/readyz not ready', 20_000, async () => {
      const r = await get('/readyz');
      return r.status === 503 ? r.text : undefined;
    });
    assert.match(stalled, /"status":"stalled"/);
    assert.match(stalled, /apel-queue-writes/, 'the write probe is named in the reasons');
    const metrics = (await get('/metrics')).text;
    assert.match(metrics, /tally_retries_total\{[^}]*stage="sink-apel"[^}]*\} [1-9]/, 'retries counted');
    assert.match(metrics, /tally_progress_stalled_seconds\{[^}]*probe="apel-queue-writes"[^}]*\} [0-9.]*[1-9]/, 'the write probe stalled');
    for (let i = 0; i < 5; i += 1) {
      assert.equal(await committedOffset(), 20, 'nothing committed past what is on disk');
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    const onDisk = dirq.browse(queue).flatMap((e) => e.body.toString('latin1').split('\n').filter((l) => l.startsWith('VMUUID: ')));
    assert.equal(new Set(onDisk).size, 20, 'only the first 20 records are in the queue');

    await setModes(queue, 0o775);
    await eventually('all 40 committed after the fix, no restart', 60_000, async () => ((await committedOffset()) === 40 ? true : undefined));
    await eventually('the recovery logged', 10_000, () => (/writing into [^ ]+ works again after \d+ failed attempt/.test(out) ? true : undefined));
    await eventually('/readyz ready again', 20_000, async () => ((await get('/readyz')).status === 200 ? true : undefined));
    const vms = dirq
      .drain(queue)
      .flatMap((e) => e.body.toString('latin1').split('\n').filter((l) => l.startsWith('VMUUID: ')))
      .map((l) => l.slice(8));
    assert.deepEqual([...new Set(vms)].sort(), [...Array.from({ length: 20 }, (_, i) => uuid(i)), ...Array.from({ length: 20 }, (_, i) => uuid(100 + i))].sort(), 'every record on disk');
    for (const dir of await readdir(queue)) assert.deepEqual((await readdir(path.join(queue, dir))).filter((f) => f.endsWith('.tmp')), [], 'no .tmp left by the failed writes');
    proc.kill('SIGTERM');
    assert.equal(await new Promise((resolve) => proc.once('exit', resolve)), 0, 'drains and exits 0');
  });
});
