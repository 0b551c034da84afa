import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { IncomingMessage } from '../../../../pipeline/bus/types.js';
import type { RawEnvelope } from '../../../../pipeline/envelope.js';

const dirs: string[] = [];
process.once('exit', () => {
  if (process.env.TALLY_TEST_KEEP_FILES) return;
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory (removed at exit) and the queue path inside it. */
export async function tempQueue(): Promise<{ dir: string; queue: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-apel-queue-'));
  dirs.push(dir);
  return { dir, queue: path.join(dir, 'outgoing', 'openstack') };
}

export const envelopeOf = (m: IncomingMessage): RawEnvelope => JSON.parse(m.value?.toString('utf8') ?? 'null') as RawEnvelope;

/** A small cloud message with a number to find it by. */
export const cloudMessage = (n: number): string => `APEL-cloud-message: v0.4\nSiteName: TEST-Site\nVMUUID: vm-${String(n).padStart(6, '0')}\n`;

export const numberOf = (message: string): number => Number(/VMUUID: vm-(\d+)/.exec(message)?.[1] ?? Number.NaN);

/** Fast polling for tests. */
export const quick = { pollIntervalMs: 50, purgeIntervalMs: 0, retryInitialMs: 50, retryMaxMs: 200 };
