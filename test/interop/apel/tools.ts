import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../../pipeline/paths.js';

/**
 * The real APEL-side tools the tests drive: Debian's python3-dirq (what ssmsend reads the queue
 * with; it serves Debian's /usr/bin/python3) and cASO from PyPI (what writes the queue at a site).
 * install.sh puts them in place; the first use here runs it (idempotent, quick when done).
 */
export const debianPython = '/usr/bin/python3';
export const casoVenv = process.env.TALLY_CASO_VENV ?? path.join(projectRoot, '.tally/cache/caso-venv');
const here = path.join(projectRoot, 'test/interop/apel');

let installed = false;
export function ensureApelTools(): void {
  if (installed) return;
  const run = spawnSync('bash', [path.join(here, 'install.sh')], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, TALLY_CASO_VENV: casoVenv } });
  if (run.status !== 0) throw new Error(`test/interop/apel/install.sh failed (exit ${run.status})`);
  installed = true;
}

function python(interpreter: string, script: string, args: string[], stdin?: unknown): unknown {
  ensureApelTools();
  const run = spawnSync(interpreter, [path.join(here, script), ...args], { input: stdin === undefined ? '' : JSON.stringify(stdin), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TZ: 'UTC', PYTHONDONTWRITEBYTECODE: '1' } });
  if (run.status !== 0) throw new Error(`${interpreter} ${script} ${args.join(' ')} failed (exit ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as unknown;
}

export interface DirqElement {
  name: string;
  body: Buffer;
  /** the body decodes as ASCII, as ssmsend requires */
  ascii: boolean;
}

const elements = (out: unknown): DirqElement[] => (out as { name: string; base64: string; ascii: boolean }[]).map((e) => ({ name: e.name, body: Buffer.from(e.base64, 'base64'), ascii: e.ascii }));

export const dirq = {
  /** dirq's QueueSimple.add: a string is written UTF-8, a Buffer as its bytes */
  add: (queue: string, items: (string | Buffer)[]): string[] => python(debianPython, 'dirq_tool.py', ['add', queue], items.map((i) => (typeof i === 'string' ? { text: i } : { base64: i.toString('base64') }))) as string[],
  lock: (queue: string, name: string): boolean => python(debianPython, 'dirq_tool.py', ['lock', queue, name]) as boolean,
  /** ssmsend's loop: lock, get, remove each element in order, then purge */
  drain: (queue: string): DirqElement[] => elements(python(debianPython, 'dirq_tool.py', ['drain', queue])),
  browse: (queue: string): DirqElement[] => elements(python(debianPython, 'dirq_tool.py', ['browse', queue])),
  count: (queue: string): number => python(debianPython, 'dirq_tool.py', ['count', queue]) as number,
};

export interface CasoRecordSpec {
  type: 'cloud' | 'ip' | 'accelerator' | 'storage';
  /** cASO's constructor fields (snake_case attributes); times as epoch seconds */
  fields: Record<string, unknown>;
}

/** Builds the records with cASO's own classes and pushes them with its SSM messenger; returns the queue's element names. */
export function casoWrite(queue: string, records: CasoRecordSpec[], maxSize = 100): string[] {
  return python(path.join(casoVenv, 'bin/python'), 'caso_write.py', [], { path: queue, max_size: maxSize, records }) as string[];
}
