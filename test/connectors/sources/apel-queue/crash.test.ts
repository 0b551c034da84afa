import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin } from '../../../../pipeline/bus/types.js';
import { eventually } from '../../../support/world.js';
import { dirq } from '../../../interop/apel/tools.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll, topicCount } from '../../../support/topic-records.js';
import { cloudMessage, envelopeOf, numberOf, quick, tempQueue } from './support.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-child.js');

function startChild(options: unknown): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [child, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`apel-queue process exited early with ${code}`)));
  });
}

const exited = (proc: ChildProcess) => new Promise<number | null>((resolve) => (proc.exitCode !== null || proc.signalCode !== null ? resolve(proc.exitCode) : proc.once('exit', (code) => resolve(code))));

const filesLeft = async (queue: string): Promise<string[]> => (await readdir(queue, { recursive: true })).filter((f) => /[0-9a-f]{14}/.test(f));

describe('tally apel-queue killed with SIGKILL', { timeout: 240_000 }, () => {
  const procs: ChildProcess[] = [];
  const admins: Admin[] = [];
  after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const a of admins) await a.close().catch(() => undefined);
  });

  test('kill -9 mid-run, more elements written, restart: every element reaches Kafka, the dead run\'s locks are purged, the queue ends empty', async () => {
    const { bus, admin, raw, prefix } = await isolatedBus('kafkajs', { kind: 'apel-message' });
    admins.push(admin);
    const { queue } = await tempQueue();
    const firstWave = 1500;
    const total = 2000;
    dirq.add(queue, Array.from({ length: firstWave }, (_, i) => cloudMessage(i)));
    const options = { topicPrefix: prefix, source: { path: queue, ...quick, batchMaxElements: 25, staleLockSeconds: 2 } };

    const first = await startChild(options);
    procs.push(first);
    await eventually('the first run well under way', 60_000, async () => ((await topicCount(admin, raw)) >= 300 ? true : undefined));
    first.kill('SIGKILL');
    await exited(first);
    const left = await filesLeft(queue);
    const locksLeft = left.filter((f) => f.endsWith('.lck')).length;
    assert.ok(left.some((f) => !f.endsWith('.lck')), 'the kill landed before the queue was empty');
    const beforeRestart = await topicCount(admin, raw);

    dirq.add(queue, Array.from({ length: total - firstWave }, (_, i) => cloudMessage(firstWave + i)));
    const second = await startChild(options);
    procs.push(second);
    await eventually('the queue emptied, locks of the dead run included', 120_000, async () => ((await filesLeft(queue)).length === 0 ? true : undefined));
    second.kill('SIGTERM');
    assert.equal(await exited(second), 0, 'graceful stop exits 0');

    const records = await readAll(bus, admin, raw, total);
    const numbers = records.map((r) => numberOf(envelopeOf(r).message));
    assert.equal(new Set(numbers).size, total, 'no element lost');
    const duplicates = numbers.length - total;
    assert.ok(duplicates <= 25, `duplicates are at most the batch in flight at the kill (${duplicates})`);
    process.stdout.write(`# SIGKILL: ${total} elements, killed after ${beforeRestart} in Kafka with ${locksLeft} lock(s) left behind; ${duplicates} duplicate(s), 0 lost\n`);
  });
});
