import { rmSync } from 'node:fs';
import { appendFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { IncomingMessage } from '../../../../pipeline/bus/types.js';
import type { RawEnvelope } from '../../../../pipeline/envelope.js';

const tempDirs: string[] = [];
process.once('exit', () => {
  if (process.env.TALLY_TEST_KEEP_FILES) return;
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory, removed when the test process exits (kept with TALLY_TEST_KEEP_FILES=1). */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-file-tail-'));
  tempDirs.push(dir);
  return dir;
}

export const envelopeOf = (m: IncomingMessage): RawEnvelope => JSON.parse(m.value?.toString('utf8') ?? 'null') as RawEnvelope;

/** An accounting line the default filter keeps, numbered. */
export function accountingLine(file: string, n: number, pad = 0): string {
  return JSON.stringify({ timestamp: '2024-05-01T10:00:00Z', serviceid: 'svc', level: 'accounting', userid: 'u', resource: 'r', action: 'a', file, n, ...(pad ? { pad: 'x'.repeat(pad) } : {}) });
}

export async function appendLines(file: string, lines: string[]): Promise<void> {
  if (lines.length) await appendFile(file, `${lines.join('\n')}\n`);
}

/** The `n` of each record's message, grouped by the `file` field, in the order Kafka holds them per partition. */
export function numbersByFile(messages: IncomingMessage[]): Map<string, number[]> {
  const byPartition = new Map<number, IncomingMessage[]>();
  for (const m of messages) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m]);
  const out = new Map<string, number[]>();
  for (const list of byPartition.values()) {
    list.sort((a, b) => Number(a.offset) - Number(b.offset));
    for (const m of list) {
      const body = JSON.parse(envelopeOf(m).message) as { file: string; n: number };
      out.set(body.file, [...(out.get(body.file) ?? []), body.n]);
    }
  }
  return out;
}

export const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** Fast polling so tests do not wait on production intervals. */
export const quick = { scanIntervalMs: 100, pollIntervalMs: 20, lingerMs: 5, registryFlushMs: 100, copyGraceMs: 500 };
