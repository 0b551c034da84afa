import { constants } from 'node:fs';
import { chmod, chown, link, mkdir, open, readFile, readdir, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { DIRECTORY_PATTERN, ELEMENT_PATTERN, ElementNamer, LOCKED_SUFFIX, TEMPORARY_SUFFIX, directoryName } from './names.js';

/**
 * A dirq QueueSimple directory, read and written exactly as Python dirq 1.8 does it (the library
 * cASO writes with and ssmsend reads with), plus what dirq leaves out: fsync of the data and of the
 * directory before an element counts as added, a vanished intermediate directory read as empty
 * (dirq's own iterator raises), and file modes and owners set explicitly instead of by umask.
 *
 * An element is `<dir>/<name>`. A reader locks it by hard-linking `<name>.lck` to it, reads the
 * `.lck`, and removes both; a writer writes `<name>.tmp` and hard-links it to a fresh name.
 */
export interface DirectoryListing {
  /** element names, sorted (the order SSM sends them in) */
  elements: string[];
  /** `.tmp` files: elements being written */
  temporaries: number;
  /** `.lck` files: elements locked by a reader */
  locks: number;
  /** the directory was gone when listed (purged by another process) */
  vanished: boolean;
}

export interface PurgeOptions {
  /** remove `.tmp` files older than this; 0 keeps them (dirq: 300) */
  maxTemporarySeconds: number;
  /** remove `.lck` files (unlock) older than this; 0 keeps them (dirq: 600) */
  maxLockSeconds: number;
}

export interface PurgeOutcome {
  temporaries: number;
  locks: number;
  directories: number;
}

export interface WriterOptions {
  /** seconds per intermediate directory (dirq: 60) */
  granularitySeconds: number;
  /** mode of element files, set with fchmod so the umask does not narrow it */
  fileMode: number;
  /** mode of intermediate directories (and of the queue directory when this creates it) */
  directoryMode: number;
  /** numeric owner and group of new files and directories; absent: the process's own */
  uid?: number;
  gid?: number;
  /** the last digit of every name (dirq: random per queue object) */
  randomDigit?: number;
  /** test seam: called after a `.tmp` is written and synced, before it is linked to its final name */
  onTemporaryWritten?: (temporaryPath: string) => void | Promise<void>;
  /** called when the queue directory itself was missing and this writer created it again */
  onQueueCreated?: (root: string) => void;
}

export interface StaleTemporaries {
  /** `.tmp` files of dead writers of this host that were removed */
  removed: string[];
  /** `.tmp` files left alone: a live writer's, or dirq's own (plain `<name>.tmp`, purged by ssmsend after 300 s) */
  kept: number;
}

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/** `<14 hex>.<pid>.tmp`: this writer's temporary names carry the writing process, so a dead one's can be told from a live one's. */
const OWNED_TEMPORARY_PATTERN = /^[0-9a-f]{14}\.(\d+)\.tmp$/;

export class QueueSimple {
  constructor(readonly root: string) {}

  elementPath(element: string): string {
    return path.join(this.root, element);
  }

  lockPath(element: string): string {
    return `${this.elementPath(element)}${LOCKED_SUFFIX}`;
  }

  /** The intermediate directories, sorted; none when the queue directory itself is missing. */
  async directories(): Promise<string[]> {
    try {
      return (await readdir(this.root)).filter((name) => DIRECTORY_PATTERN.test(name)).sort();
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw error;
    }
  }

  async list(directory: string): Promise<DirectoryListing> {
    let names: string[];
    try {
      names = await readdir(path.join(this.root, directory));
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return { elements: [], temporaries: 0, locks: 0, vanished: true };
      throw error;
    }
    const elements: string[] = [];
    let temporaries = 0;
    let locks = 0;
    for (const name of names) {
      if (ELEMENT_PATTERN.test(name)) elements.push(`${directory}/${name}`);
      else if (name.endsWith(TEMPORARY_SUFFIX)) temporaries += 1;
      else if (name.endsWith(LOCKED_SUFFIX)) locks += 1;
    }
    return { elements: elements.sort(), temporaries, locks, vanished: false };
  }

  /** Elements, locked or not, `.tmp` excluded (dirq's count, which ssmsend's has_msgs uses). */
  async count(): Promise<number> {
    let total = 0;
    for (const directory of await this.directories()) total += (await this.list(directory)).elements.length;
    return total;
  }

  /**
   * dirq's lock: link the element to `<name>.lck`, then touch it (the lock's age is the inode's
   * mtime). False when another reader holds it or it is gone; other errors (EPERM under
   * fs.protected_hardlinks for a file this user may not write) are thrown.
   */
  async lock(element: string): Promise<boolean> {
    const file = this.elementPath(element);
    const lock = this.lockPath(element);
    try {
      await link(file, lock);
    } catch (error) {
      if (errno(error) === 'EEXIST' || errno(error) === 'ENOENT') return false;
      throw error;
    }
    try {
      const now = new Date();
      await utimes(file, now, now);
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw error;
      // RACE (as dirq notes): another reader locked and removed it while the link was made
      await unlink(lock).catch(() => undefined);
      return false;
    }
    return true;
  }

  /** True when the lock was there to remove. */
  async unlock(element: string): Promise<boolean> {
    try {
      await unlink(this.lockPath(element));
      return true;
    } catch (error) {
      if (errno(error) === 'ENOENT') return false;
      throw error;
    }
  }

  /** A locked element's bytes, read through its lock as dirq's get does. */
  async get(element: string): Promise<Buffer> {
    return readFile(this.lockPath(element));
  }

  /** Keep a held lock young, so no purge takes it for a dead reader's. */
  async touch(element: string): Promise<void> {
    const now = new Date();
    await utimes(this.elementPath(element), now, now);
  }

  /** Remove a locked element: the element, then its lock. Returns false when the element was already gone. */
  async remove(element: string): Promise<boolean> {
    let present = true;
    try {
      await unlink(this.elementPath(element));
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw error;
      present = false;
    }
    await this.unlock(element);
    return present;
  }

  /**
   * dirq's purge: remove `.tmp` and `.lck` files older than their limits (removing a `.lck` is
   * unlocking), then every empty intermediate directory except the newest one, which a writer may
   * be about to use.
   */
  async purge(options: PurgeOptions): Promise<PurgeOutcome> {
    const outcome: PurgeOutcome = { temporaries: 0, locks: 0, directories: 0 };
    const directories = await this.directories();
    const nowMs = Date.now();
    if (options.maxTemporarySeconds > 0 || options.maxLockSeconds > 0) {
      for (const directory of directories) {
        let names: string[];
        try {
          names = await readdir(path.join(this.root, directory));
        } catch (error) {
          if (errno(error) === 'ENOENT') continue;
          throw error;
        }
        for (const name of names) {
          const temporary = name.endsWith(TEMPORARY_SUFFIX);
          if (!temporary && !name.endsWith(LOCKED_SUFFIX)) continue;
          const limit = temporary ? options.maxTemporarySeconds : options.maxLockSeconds;
          if (limit <= 0) continue;
          const file = path.join(this.root, directory, name);
          try {
            if ((await stat(file)).mtimeMs >= nowMs - limit * 1000) continue;
            await unlink(file);
            if (temporary) outcome.temporaries += 1;
            else outcome.locks += 1;
          } catch (error) {
            if (errno(error) !== 'ENOENT') throw error;
          }
        }
      }
    }
    for (const directory of directories.slice(0, -1)) {
      try {
        await rmdir(path.join(this.root, directory));
        outcome.directories += 1;
      } catch (error) {
        if (errno(error) !== 'ENOTEMPTY' && errno(error) !== 'EEXIST' && errno(error) !== 'ENOENT') throw error;
      }
    }
    return outcome;
  }
}

/**
 * Adds elements durably and atomically: each body is written to `<dir>/<name>.tmp` (O_EXCL),
 * fchmod/fchown'ed and fsynced, linked to a fresh `<dir>/<name>` (never clobbering: EEXIST picks
 * another name), the `.tmp` is unlinked, and finally each directory touched is fsynced once. A crash
 * at any point leaves either the whole element or only a `.tmp` that readers ignore and purge removes.
 */
export class QueueSimpleWriter {
  readonly queue: QueueSimple;
  private readonly namer: ElementNamer;

  constructor(
    root: string,
    private readonly options: WriterOptions,
  ) {
    this.queue = new QueueSimple(root);
    this.namer = new ElementNamer(options.randomDigit ?? Math.floor(Math.random() * 16));
  }

  /**
   * Adds every body as its own element; resolves with their names once all of them are on disk.
   * The bodies are written in parallel, then published in the order given, so their names (the
   * order SSM sends them in) follow the array.
   */
  async add(bodies: readonly Buffer[]): Promise<string[]> {
    const dirty = new Set<string>();
    const settled = await Promise.allSettled(bodies.map((body) => this.writeTemporary(body, dirty)));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const written = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failed) {
      await Promise.all(written.map((w) => unlink(w.path).catch(() => undefined)));
      throw failed.reason;
    }
    const names: string[] = [];
    for (const [i, temporary] of written.entries()) {
      try {
        names.push(await this.publish(temporary, dirty));
      } catch (error) {
        await Promise.all(written.slice(i).map((w) => unlink(w.path).catch(() => undefined)));
        throw error;
      }
    }
    await Promise.all([...dirty].map((directory) => syncDirectory(directory)));
    return names;
  }

  private async writeTemporary(body: Buffer, dirty: Set<string>): Promise<{ directory: string; path: string }> {
    const directory = directoryName(Date.now() / 1000, this.options.granularitySeconds);
    const directoryPath = path.join(this.queue.root, directory);
    let temporary: string;
    for (;;) {
      temporary = path.join(directoryPath, `${this.namer.next()}.${process.pid}${TEMPORARY_SUFFIX}`);
      try {
        const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, this.options.fileMode);
        try {
          await handle.writeFile(body);
          await handle.chmod(this.options.fileMode);
          if (this.options.uid !== undefined || this.options.gid !== undefined) await handle.chown(this.options.uid ?? -1, this.options.gid ?? -1);
          await handle.sync();
        } catch (error) {
          await unlink(temporary).catch(() => undefined);
          throw error;
        } finally {
          await handle.close();
        }
        break;
      } catch (error) {
        if (errno(error) === 'EEXIST') continue;
        if (errno(error) !== 'ENOENT') throw error;
        // the directory is new, or a purge removed it since (or the whole queue is gone): (re)create it and try again
        if (await this.makeDirectory(this.queue.root, true)) {
          dirty.add(path.dirname(this.queue.root));
          this.options.onQueueCreated?.(this.queue.root);
        }
        if (await this.makeDirectory(directoryPath, false)) dirty.add(this.queue.root);
      }
    }
    await this.options.onTemporaryWritten?.(temporary);
    return { directory, path: temporary };
  }

  /**
   * Removes the `.tmp` files a writer of this host left when it was killed (its pid is in the name
   * and no longer runs), so they never linger until ssmsend's purge. A live writer's are kept.
   */
  async removeStaleTemporaries(): Promise<StaleTemporaries> {
    const outcome: StaleTemporaries = { removed: [], kept: 0 };
    for (const directory of await this.queue.directories()) {
      let names: string[];
      try {
        names = await readdir(path.join(this.queue.root, directory));
      } catch (error) {
        if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') continue;
        throw error;
      }
      for (const name of names) {
        if (!name.endsWith(TEMPORARY_SUFFIX)) continue;
        const pid = Number(OWNED_TEMPORARY_PATTERN.exec(name)?.[1] ?? Number.NaN);
        if (!Number.isInteger(pid) || pid === process.pid || processRuns(pid)) {
          outcome.kept += 1;
          continue;
        }
        const file = path.join(this.queue.root, directory, name);
        try {
          await unlink(file);
          outcome.removed.push(file);
        } catch (error) {
          if (errno(error) !== 'ENOENT') throw error;
        }
      }
    }
    return outcome;
  }

  /** link() never replaces an existing name (rename would): EEXIST means pick the next name. */
  private async publish(temporary: { directory: string; path: string }, dirty: Set<string>): Promise<string> {
    const directoryPath = path.dirname(temporary.path);
    for (;;) {
      const name = this.namer.next();
      try {
        await link(temporary.path, path.join(directoryPath, name));
      } catch (error) {
        if (errno(error) === 'EEXIST') continue;
        throw error;
      }
      await unlink(temporary.path);
      dirty.add(directoryPath);
      return `${temporary.directory}/${name}`;
    }
  }

  /** mkdir with the configured mode and owner (every directory it made, when recursive); true when this call created it. */
  private async makeDirectory(directory: string, recursive: boolean): Promise<boolean> {
    const made: string[] = [];
    try {
      if (recursive) {
        const first = await mkdir(directory, { recursive: true, mode: this.options.directoryMode });
        if (first === undefined) return false;
        for (let d = directory; ; d = path.dirname(d)) {
          made.unshift(d);
          if (d === first || path.dirname(d) === d) break;
        }
      } else {
        await mkdir(directory, { mode: this.options.directoryMode });
        made.push(directory);
      }
    } catch (error) {
      if (errno(error) === 'EEXIST') return false;
      throw error;
    }
    for (const d of made) {
      await chmod(d, this.options.directoryMode);
      if (this.options.uid !== undefined || this.options.gid !== undefined) await chown(d, this.options.uid ?? -1, this.options.gid ?? -1);
    }
    return true;
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
