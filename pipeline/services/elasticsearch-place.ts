import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { elasticsearchHome } from './artifacts.js';
import type { ServicesLayout } from './layout.js';
import type { RunAs } from './service-user.js';

/**
 * Where a checkout's Elasticsearch lives when its service user cannot enter the checkout (a clone in
 * a mode-700 folder, or in root's home): one folder per checkout, named by the checkout's path.
 */
export const outsideRoot = '/var/lib/tally';

/** The install Elasticsearch runs from and the folder of its config, data, logs and temporary files. */
export interface EsPlace {
  home: string;
  /** run/elasticsearch in the checkout, or run/ in the outside folder */
  runDir: string;
  /** the per-checkout folder under outsideRoot, when the checkout is out of the service user's reach */
  outsideDir?: string;
}

/** The closest folder of `target` (or `target`) that exists, through symlinks. */
function existingReal(target: string): string {
  let current = path.resolve(target);
  while (!existsSync(current)) current = path.dirname(current);
  return realpathSync(current);
}

/** The service user can walk down to `target`: every folder above it lets others through (o+x). */
export function canEnter(target: string): boolean {
  const existing = existingReal(target);
  // a folder still to be made is entered through the closest one that exists
  let current = existsSync(target) ? path.dirname(existing) : existing;
  while (current !== path.dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) return false;
    current = path.dirname(current);
  }
  return true;
}

/** `<checkout folder name>-<12 hex of the services folder's real path>`: stable for a checkout, distinct between checkouts. */
export function checkoutId(layout: ServicesLayout): string {
  const root = existsSync(layout.root) ? realpathSync(layout.root) : path.resolve(layout.root);
  const name = path.basename(path.dirname(root)).replace(/[^A-Za-z0-9._-]/g, '_') || 'checkout';
  return `${name}-${createHash('sha256').update(root).digest('hex').slice(0, 12)}`;
}

export const outsideDirOf = (layout: ServicesLayout): string => path.join(outsideRoot, `es-${checkoutId(layout)}`);

/** Hard links when the two folders share a file system (instant, no space), a copy otherwise; never half a copy. */
function linkInstall(from: string, to: string): void {
  const tmp = `${to}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    execFileSync('cp', ['-al', from, tmp], { stdio: 'pipe' });
  } catch {
    rmSync(tmp, { recursive: true, force: true });
    cpSync(from, tmp, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  }
  renameSync(tmp, to);
}

/**
 * The install Elasticsearch runs from: the cached one, or, when the service user cannot reach the
 * cache, hard links to it in outsideDirOf(layout).
 */
export async function reachableEsHome(layout: ServicesLayout, version: string, owner: RunAs | undefined): Promise<{ home: string; outsideDir?: string }> {
  const cached = await elasticsearchHome(layout.cacheDir, version);
  if (!owner || (canEnter(cached) && canEnter(layout.runDir))) return { home: cached };
  const outsideDir = outsideDirOf(layout);
  mkdirSync(outsideDir, { recursive: true, mode: 0o755 });
  const copy = path.join(outsideDir, path.basename(path.dirname(cached)));
  if (!existsSync(copy)) linkInstall(path.dirname(cached), copy);
  return { home: path.join(copy, path.basename(cached)), outsideDir };
}

/**
 * Where Elasticsearch runs from. Without a service user (not root), or when the service user can
 * reach the checkout, that is the checkout's own cache and run folder. Otherwise its install,
 * config, data, logs and temporary files go to outsideDirOf(layout), and `.tally/run/elasticsearch`
 * is a link to its run folder; `tally services stop` removes the whole folder.
 */
export async function esPlace(layout: ServicesLayout, version: string, owner: RunAs | undefined): Promise<EsPlace> {
  const inside = path.join(layout.runDir, 'elasticsearch');
  const { home, outsideDir } = await reachableEsHome(layout, version, owner);
  if (!outsideDir) return { home, runDir: inside };
  const runDir = path.join(outsideDir, 'run');
  mkdirSync(layout.runDir, { recursive: true });
  if (!lstatSync(inside, { throwIfNoEntry: false })?.isSymbolicLink()) {
    rmSync(inside, { recursive: true, force: true });
    symlinkSync(runDir, inside);
  }
  return { home, runDir, outsideDir };
}
