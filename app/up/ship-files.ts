import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startFileTail } from '../../connectors/sources/file-tail/index.js';
import type { UpContext } from './context.js';

export interface ShippedFiles {
  dir: string;
  sent: number;
  filtered: number;
}

/**
 * Copy sample files into a folder of this run and tail them with `tally ship`'s tailer until every
 * line is acknowledged. The copies keep their inode from run to run (rewritten only when the sample
 * changed) and the registry starts empty, so a second run sends the same lines with the same record
 * ids: they overwrite, never double.
 */
export async function shipFiles(context: UpContext, folder: string, kind: string, samples: string[], options: Record<string, unknown> = {}): Promise<ShippedFiles> {
  const dir = path.join(context.workDir, folder);
  const stateDir = path.join(context.workDir, 'registry');
  await mkdir(dir, { recursive: true });
  await mkdir(stateDir, { recursive: true });
  const names = new Set(samples.map((sample) => path.basename(sample)));
  for (const stale of (await readdir(dir)).filter((name) => !names.has(name))) await rm(path.join(dir, stale), { recursive: true, force: true });
  let lines = 0;
  for (const sample of samples) {
    const target = path.join(dir, path.basename(sample));
    const content = await readFile(sample);
    if (!(await readFile(target).catch(() => undefined))?.equals(content)) await writeFile(target, content);
    lines += content.toString('utf8').split('\n').filter((line, i, all) => i < all.length - 1 || line !== '').length;
  }
  const registryPath = path.join(stateDir, `${folder}.json`);
  for (const suffix of ['', '.bak']) await rm(`${registryPath}${suffix}`, { force: true });
  const tail = await startFileTail({ paths: [path.join(dir, '*')], kind, registryPath, scanIntervalMs: 100, pollIntervalMs: 20, lingerMs: 5, ...options }, { bus: context.bus, log: context.log, producer: context.producer });
  const deadline = Date.now() + 30_000;
  const done = (): boolean => {
    const s = tail.stats();
    return s.linesSent + s.linesFiltered + s.linesEmpty + s.deadLetters.tooLarge + s.deadLetters.invalidUtf8 >= lines;
  };
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const stats = tail.stats();
  await tail.stop();
  return { dir, sent: stats.linesSent, filtered: stats.linesFiltered };
}
