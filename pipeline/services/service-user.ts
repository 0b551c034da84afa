import { execFileSync } from 'node:child_process';
import { lchownSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { TallyError } from '../errors.js';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

/** Elasticsearch refuses to run as root; create (once) and use a system user instead. */
export function runAsUser(name: string): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = (): RunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { name, uid, gid };
    } catch {
      return undefined;
    }
  };
  const existing = lookup();
  if (existing) return existing;
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { stdio: 'pipe' });
  } catch (error) {
    throw new TallyError('SERVICE_START', `Elasticsearch cannot run as root and user ${name} could not be created: ${String((error as { stderr?: Buffer }).stderr ?? error)}`);
  }
  const created = lookup();
  if (!created) throw new TallyError('SERVICE_START', `user ${name} was created but cannot be looked up`);
  return created;
}

export function chownTree(dir: string, owner: RunAs): void {
  lchownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    lchownSync(path.join(dir, entry), owner.uid, owner.gid);
  }
}

/** Every folder above `dir` must be traversable by the service user. */
export function assertTraversable(dir: string, owner: RunAs | undefined): void {
  if (!owner) return;
  let current = path.dirname(dir);
  while (current !== path.dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      throw new TallyError('SERVICE_START', `Elasticsearch runs as ${owner.name}, who cannot enter ${current} (mode ${(mode & 0o777).toString(8)}); chmod o+x it or move services.dir`);
    }
    current = path.dirname(current);
  }
}
