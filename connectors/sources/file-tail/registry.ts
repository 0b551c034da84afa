import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { copyFile, link, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TallyError } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';

/**
 * The file registry: one entry per file identity (device + inode, checked against a fingerprint of
 * the first bytes) with the offset just past the last line Kafka acknowledged. Persisted as one
 * JSON file, written atomically (tmp file, fsync, rename, fsync of the directory); the previous
 * good version is kept as `<file>.bak` (a hard link, so the main file always exists).
 */
export interface CursorState {
  /** stable id of the byte stream: `<inode>-<device>` when first seen (Filebeat's native identity) */
  id: string;
  dev: number;
  ino: number;
  /** the path it was last seen under */
  path: string;
  /** sha256 hex of the first `fingerprintBytes` bytes */
  fingerprint: string;
  fingerprintBytes: number;
  /** just past the last line Kafka acknowledged (or that was filtered and so acknowledged with it) */
  offset: number;
  /** discovery order; a smaller seq in the same stream is read first (x.log.1 before the new x.log) */
  seq: number;
  updated: string;
  /** set when the file was truncated (copytruncate) or replaced: its copy may continue from here */
  detached?: string;
}

/** A registry entry plus what only this process knows: the end of what is queued and how many queued items are unacknowledged. */
export class Cursor implements CursorState {
  id: string;
  dev: number;
  ino: number;
  path: string;
  fingerprint: string;
  fingerprintBytes: number;
  offset: number;
  seq: number;
  updated: string;
  detached?: string;
  /** just past the last line handed to the sender (≥ offset) */
  enqueued: number;
  /** queued or in-flight items not yet acknowledged */
  pending = 0;

  constructor(state: CursorState) {
    this.id = state.id;
    this.dev = state.dev;
    this.ino = state.ino;
    this.path = state.path;
    this.fingerprint = state.fingerprint;
    this.fingerprintBytes = state.fingerprintBytes;
    this.offset = state.offset;
    this.seq = state.seq;
    this.updated = state.updated;
    if (state.detached !== undefined) this.detached = state.detached;
    this.enqueued = state.offset;
  }

  toJSON(): CursorState {
    return { id: this.id, dev: this.dev, ino: this.ino, path: this.path, fingerprint: this.fingerprint, fingerprintBytes: this.fingerprintBytes, offset: this.offset, seq: this.seq, updated: this.updated, ...(this.detached !== undefined ? { detached: this.detached } : {}) };
  }
}

/** The registry file is unreadable and no usable backup exists: the tailer refuses to guess offsets. */
export class RegistryCorruptError extends TallyError {
  constructor(message: string, details: Record<string, unknown>) {
    // TODO(lead): a dedicated REGISTRY_CORRUPT code in pipeline/errors.ts
    super('CONFIG_UNREADABLE', message, { details });
    this.name = 'RegistryCorruptError';
  }
}

interface RegistryFile {
  version: 1;
  writer: string;
  flushedAt: string;
  files: CursorState[];
}

/** where the offsets came from: the file, its backup, nothing yet, or nothing usable (every file read again from its start) */
export type RegistryOrigin = 'main' | 'backup' | 'new' | 'reset';

/** a registry with no usable version: read every file again from its start (duplicates, never a loss), or refuse to start */
export type CorruptRegistryPolicy = 'reread' | 'refuse';

export interface LoadedRegistry {
  cursors: Cursor[];
  origin: RegistryOrigin;
  /** why the main file was not used, when it was not */
  problem?: string;
  /** where a corrupt main file was moved */
  movedTo?: string;
}

export class Registry {
  private readonly cursors = new Map<string, Cursor>();
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private mainGood: boolean;
  flushes = 0;

  private constructor(
    readonly file: string,
    loaded: LoadedRegistry,
  ) {
    for (const cursor of loaded.cursors) this.cursors.set(cursor.id, cursor);
    this.mainGood = loaded.origin === 'main';
  }

  /** Load (falling back to `.bak` with a logged warning) and take the lock. */
  static async open(file: string, log: Logger, policy: CorruptRegistryPolicy = 'reread'): Promise<{ registry: Registry; loaded: LoadedRegistry }> {
    await mkdir(path.dirname(file), { recursive: true });
    await takeLock(file);
    try {
      const loaded = await loadRegistry(file, policy);
      if (loaded.origin === 'reset') {
        log.error({ registry: file, problem: loaded.problem, movedTo: loaded.movedTo }, `file registry ${file} has no usable version (${loaded.problem}); the damaged file(s) were moved to ${loaded.movedTo ?? '(nothing to move)'}. Every matched file is read again from its start, the last point known safe: lines sent before are sent again (duplicates, absorbed downstream by deterministic ids), none is lost. Set corruptRegistry: refuse to stop instead`);
      }
      if (loaded.origin === 'backup') {
        log.warn({ registry: file, problem: loaded.problem, movedTo: loaded.movedTo }, `file registry ${file} is unusable (${loaded.problem}); continuing from its backup ${file}.bak: lines acknowledged after that backup was written will be sent again (duplicates, absorbed downstream by deterministic ids)`);
      } else if (loaded.origin === 'new') log.info({ registry: file }, 'no file registry yet: every matched file is read from its start');
      return { registry: new Registry(file, loaded), loaded };
    } catch (error) {
      await releaseLock(file);
      throw error;
    }
  }

  all(): Cursor[] {
    return [...this.cursors.values()];
  }

  get(id: string): Cursor | undefined {
    return this.cursors.get(id);
  }

  add(cursor: Cursor): void {
    this.cursors.set(cursor.id, cursor);
    this.dirty = true;
  }

  remove(cursor: Cursor): void {
    if (this.cursors.get(cursor.id) === cursor) this.cursors.delete(cursor.id);
    this.dirty = true;
  }

  touch(): void {
    this.dirty = true;
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /** Write the current state atomically; concurrent calls are serialised. Skips when nothing changed unless forced. */
  flush(force = false): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (!this.dirty && !force) return;
      this.dirty = false;
      const state: RegistryFile = { version: 1, writer: 'tally file-tail', flushedAt: new Date().toISOString(), files: this.all().map((c) => c.toJSON()) };
      try {
        await writeAtomically(this.file, `${JSON.stringify(state, null, 1)}\n`, this.mainGood);
        this.mainGood = true;
        this.flushes += 1;
      } catch (error) {
        this.dirty = true;
        throw error;
      }
    });
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
    await releaseLock(this.file);
  }

  /** Release the lock without writing (a simulated crash in tests). */
  async abandon(): Promise<void> {
    await this.writing.catch(() => undefined);
    await releaseLock(this.file);
  }
}

/**
 * Read the registry: the main file, else its backup. Both unusable is never a silent fresh start:
 * with policy `reread` (the default) every file is read again from its start, said loudly, the
 * damaged files kept aside; with `refuse` it is an error.
 */
export async function loadRegistry(file: string, policy: CorruptRegistryPolicy = 'refuse'): Promise<LoadedRegistry> {
  const main = await readState(file);
  if (main.ok) return { cursors: main.files.map((s) => new Cursor(s)), origin: 'main' };
  if (main.missing) {
    const backup = await readState(`${file}.bak`);
    if (backup.ok) return { cursors: backup.files.map((s) => new Cursor(s)), origin: 'backup', problem: 'the file is missing but its backup exists (delete both to read every file again)' };
    if (backup.missing) return { cursors: [], origin: 'new' };
    if (policy === 'reread') return { cursors: [], origin: 'reset', problem: `the file is missing and its backup is unusable (${backup.problem})`, movedTo: await moveAside(`${file}.bak`) };
    throw new RegistryCorruptError(`file registry ${file} is missing and its backup ${file}.bak is unusable (${backup.problem}); refusing to re-read every file. Restore a registry, or delete ${file}.bak to read every matched file from its start`, { file, backupProblem: backup.problem });
  }
  const backup = await readState(`${file}.bak`);
  if (!backup.ok) {
    const why = backup.missing ? 'there is no backup' : `its backup is unusable too (${backup.problem})`;
    if (policy === 'reread') {
      const movedTo = await moveAside(file);
      if (!backup.missing) await moveAside(`${file}.bak`);
      return { cursors: [], origin: 'reset', problem: `${main.problem}; ${why}`, movedTo };
    }
    throw new RegistryCorruptError(`file registry ${file} is unusable (${main.problem}) and ${why}; refusing to guess offsets or re-read every file. Fix or restore the registry, or delete it (and ${file}.bak) to read every matched file from its start`, { file, problem: main.problem, backupProblem: backup.missing ? 'missing' : backup.problem });
  }
  const movedTo = await moveAside(file);
  return { cursors: backup.files.map((s) => new Cursor(s)), origin: 'backup', problem: main.problem, movedTo };
}

/** A damaged registry file is kept for inspection, never overwritten or made the backup. */
async function moveAside(file: string): Promise<string> {
  const movedTo = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(file, movedTo);
  return movedTo;
}

type ReadResult = { ok: true; files: CursorState[] } | { ok: false; missing: boolean; problem: string };

async function readState(file: string): Promise<ReadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, missing: true, problem: 'missing' };
    return { ok: false, missing: false, problem: `unreadable: ${(error as Error).message}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, missing: false, problem: `not valid JSON (${text.length} bytes; truncated?): ${(error as Error).message}` };
  }
  const problem = checkState(parsed);
  return problem ? { ok: false, missing: false, problem } : { ok: true, files: (parsed as RegistryFile).files };
}

function checkState(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  if (v.version !== 1) return `unknown version ${JSON.stringify(v.version)}`;
  if (!Array.isArray(v.files)) return '"files" is not a list';
  const nonNegative = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  for (const [i, entry] of (v.files as unknown[]).entries()) {
    const e = entry as Record<string, unknown>;
    const bad =
      typeof e !== 'object' || e === null ? 'not an object'
      : typeof e.id !== 'string' || e.id === '' ? 'id'
      : !nonNegative(e.dev) ? 'dev'
      : !nonNegative(e.ino) ? 'ino'
      : typeof e.path !== 'string' ? 'path'
      : typeof e.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(e.fingerprint) ? 'fingerprint'
      : !nonNegative(e.fingerprintBytes) ? 'fingerprintBytes'
      : !nonNegative(e.offset) ? 'offset'
      : !nonNegative(e.seq) ? 'seq'
      : typeof e.updated !== 'string' ? 'updated'
      : e.detached !== undefined && typeof e.detached !== 'string' ? 'detached'
      : undefined;
    if (bad) return `entry ${i} has an invalid ${bad}`;
  }
  return undefined;
}

/** tmp + fsync + (link the current file to .bak) + rename + fsync(dir). */
export async function writeAtomically(file: string, text: string, keepBackup: boolean): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (keepBackup) {
    const bakTmp = `${file}.bak.tmp`;
    await rm(bakTmp, { force: true });
    try {
      await link(file, bakTmp);
    } catch {
      await copyFile(file, bakTmp);
    }
    await rename(bakTmp, `${file}.bak`);
  }
  await rename(tmp, file);
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** One tailer per registry: `<file>.lock` holds the owner's pid; a lock of a dead process is taken over. */
async function takeLock(file: string): Promise<void> {
  const lock = `${file}.lock`;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(lock, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new TallyError('CONFIG_INVALID', `file registry ${file} is in use by process ${owner}; each ship input needs its own registry path`, { details: { file, owner } });
      }
      await rm(lock, { force: true });
    }
  }
  await writeFile(lock, `${process.pid}\n`);
}

async function releaseLock(file: string): Promise<void> {
  const lock = `${file}.lock`;
  const owner = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
  if (owner === process.pid) await rm(lock, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
