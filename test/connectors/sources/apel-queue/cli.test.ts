import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin } from '../../../../pipeline/bus/types.js';
import { eventually } from '../../../support/world.js';
import { dirq } from '../../../interop/apel/tools.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { readAll } from '../../../support/topic-records.js';
import { cloudMessage, envelopeOf, numberOf, tempQueue } from './support.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli-child.js');
const admins: Admin[] = [];
after(async () => {
  for (const a of admins) await a.close().catch(() => undefined);
});

test('tally apel-queue --path: reads the queue into raw.apel-message until SIGTERM, then exits 0', { timeout: 120_000 }, async () => {
  const { bus, admin, raw, prefix } = await isolatedBus('kafkajs', { kind: 'apel-message' });
  admins.push(admin);
  const { queue } = await tempQueue();
  dirq.add(queue, [cloudMessage(1), cloudMessage(2), cloudMessage(3)]);
  const proc = spawn(process.execPath, [child, '--log-level', 'warn', '--set', `kafka.topicPrefix=${prefix}`, 'apel-queue', '--path', queue], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await eventually('the banner', 30_000, () => (stdout.includes('tally apel-queue reading') ? true : undefined));
  assert.match(stdout, new RegExp(`reading ${queue.replaceAll('/', '\\/')} → ${prefix.replaceAll('.', '\\.')}raw\\.apel-message`));
  const records = await readAll(bus, admin, raw, 3);
  assert.deepEqual(records.map((r) => numberOf(envelopeOf(r).message)).sort(), [1, 2, 3]);
  await eventually('the queue emptied', 30_000, () => (dirq.count(queue) === 0 ? true : undefined));
  proc.kill('SIGTERM');
  assert.equal(await exit, 0, stderr);
});

test('tally apel-queue without a queue directory is a usage error', { timeout: 30_000 }, async () => {
  const proc = spawn(process.execPath, [child, 'apel-queue'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  assert.notEqual(code, 0);
  assert.match(stderr, /needs the queue directory: --path <dir> or apelQueue\.path/);
});
