import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin } from '../../../../pipeline/bus/types.js';
import { eventually, uniqueName } from '../../../support/world.js';
import { dirq } from '../../../interop/apel/tools.js';
import { vm } from './records.js';
import { checkMessage, committed, domainRecord, isolatedBus, tempQueue } from './support.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-child.js');
const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function startChild(options: unknown, onLine: (line: string) => void = () => undefined): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [child, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffered = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') resolve(proc);
        onLine(line);
      }
    });
    proc.once('exit', (code) => reject(new Error(`sink process exited early with ${code}`)));
  });
}

const exited = (proc: ChildProcess) => new Promise<number | null>((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve(proc.exitCode) : proc.once('exit', (code) => resolve(code))));

const cloudRecords = (queue: string, maxRecords: number): Record<string, string>[] => dirq.drain(queue).flatMap((e) => checkMessage(e, maxRecords, 512 * 1024).records as Record<string, string>[]);

describe('tally sink apel killed with SIGKILL', { timeout: 240_000 }, () => {
  const procs: ChildProcess[] = [];
  const admins: Admin[] = [];
  after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const a of admins) await a.close().catch(() => undefined);
  });

  test('killed between writing the .tmp and linking it: no message appears, and after a restart every record is in the queue once', async () => {
    const { bus, admin, prefix } = await isolatedBus(1);
    admins.push(admin);
    const producer = await bus.producer();
    await producer.send(Array.from({ length: 150 }, (_, i) => domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(i) }))));
    await producer.close();
    const queue = await tempQueue();
    const groupId = uniqueName('sink-apel-crash');
    const sink = { path: queue, groupId, flushIntervalMs: 200 };

    let temporary: string | undefined;
    const first = await startChild({ topicPrefix: prefix, sink, pauseAtTemporary: 1 }, (line) => {
      if (line.startsWith('tmp ')) temporary = line.slice(4);
    });
    procs.push(first);
    await eventually('the first .tmp written and synced', 30_000, () => temporary);
    first.kill('SIGKILL');
    await exited(first);
    assert.equal(dirq.count(queue), 0, 'no element: a reader sees nothing of the half-done message');
    assert.deepEqual(dirq.drain(queue), []);
    assert.match(await readFile(temporary ?? '', 'latin1'), /^APEL-cloud-message: v0\.4\n/, 'only the .tmp exists, which dirq readers ignore and purge() removes after 300 s');
    assert.deepEqual(await admin.groupOffsets(groupId, bus.topic('cloud.vm')).then((o) => o.map((p) => p.committed)), ['-1'], 'nothing committed');

    const second = await startChild({ topicPrefix: prefix, sink });
    procs.push(second);
    await committed(admin, groupId, [bus.topic('cloud.vm')]);
    second.kill('SIGTERM');
    assert.equal(await exited(second), 0);
    const records = cloudRecords(queue, 100);
    assert.deepEqual(records.map((r) => r.VMUUID).sort(), Array.from({ length: 150 }, (_, i) => uuid(i)).sort(), 'every record once');
    // the restarted sink may write into a later intermediate directory and remove the emptied one
    const left: string[] = await readdir(path.dirname(temporary ?? '')).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    assert.ok(!left.includes(path.basename(temporary ?? '')), 'the dead run\'s .tmp (its pid in the name, no longer running) was removed by the restarted sink');
    assert.deepEqual(left.filter((n) => n.endsWith('.tmp')), [], 'no .tmp left at all');
  });

  test('killed at a random moment of a stream, restarted: every element whole, no record lost', async () => {
    const { bus, admin, prefix } = await isolatedBus(3);
    admins.push(admin);
    const queue = await tempQueue();
    const groupId = uniqueName('sink-apel-crash');
    const sink = { path: queue, groupId, flushIntervalMs: 100, maxRecordsPerMessage: 50 };
    const total = 3000;
    const producer = await bus.producer();
    const producing = (async () => {
      for (let i = 0; i < total; i += 100) {
        await producer.send(Array.from({ length: 100 }, (_, j) => domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(i + j), machine_name: `vm ${i + j}` }))));
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    const first = await startChild({ topicPrefix: prefix, sink });
    procs.push(first);
    await eventually('messages being written', 60_000, () => (dirq.count(queue) >= 8 ? true : undefined));
    first.kill('SIGKILL');
    await exited(first);
    const beforeRestart = dirq.count(queue);
    await producing;
    await producer.close();

    const second = await startChild({ topicPrefix: prefix, sink });
    procs.push(second);
    await committed(admin, groupId, [bus.topic('cloud.vm')], 120_000);
    second.kill('SIGTERM');
    assert.equal(await exited(second), 0);
    const records = cloudRecords(queue, 50);
    const distinct = new Set(records.map((r) => r.VMUUID));
    assert.equal(distinct.size, total, 'no record lost');
    process.stdout.write(`# SIGKILL sink: ${total} records, killed with ${beforeRestart} message(s) on disk; ${records.length - total} duplicate record(s) from messages written but not yet committed, every element whole\n`);
  });
});
