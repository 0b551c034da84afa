import { messageOf } from '../../../pipeline/errors.js';

/** Why writing into the outgoing queue failed, said so an operator knows what to do. Pure. */
export interface WriteFault {
  /** the errno code (ENOSPC, EACCES ...), or the error's name when it has none */
  errno: string;
  /** the file or directory the failing call named, else the queue directory */
  path: string;
  message: string;
  /** what makes the writes work again; the sink retries by itself meanwhile */
  remedy: string;
}

const remedies: Record<string, (queue: string, who: string) => string> = {
  ENOSPC: (queue) => `the filesystem of ${queue} is full: free space there (is ssmsend running and removing what it sent?)`,
  EDQUOT: (queue) => `the disk quota on ${queue} is used up: raise it or free space there`,
  EACCES: (queue, who) => `${who} may not write in ${queue}: give it write access (the queue's owner/group with directoryMode 0775) or run the sink as the queue's user`,
  EPERM: (queue, who) => `${who} is not permitted to change ${queue} (chown to another owner needs root or CAP_CHOWN): fix the permissions or the sink's owner/group settings`,
  EROFS: (queue) => `${queue} is on a read-only filesystem: remount it read-write`,
  ENOENT: (queue) => `a directory on the way to ${queue} is missing: create it (the sink creates the queue directory itself when its parent exists)`,
  ENOTDIR: (queue) => `a part of ${queue} is not a directory: remove or move that file`,
  EIO: (queue) => `the disk under ${queue} reports I/O errors: check the device`,
};

export function describeWriteFault(error: unknown, queue: string): WriteFault {
  const e = error as NodeJS.ErrnoException | undefined;
  const errno = e?.code ?? (error instanceof Error ? error.name : 'UNKNOWN');
  const where = e?.path ?? queue;
  const who = typeof process.getuid === 'function' ? `user ${process.getuid()}` : 'this process';
  const remedy = remedies[errno]?.(queue, who) ?? `see the error; the sink keeps retrying`;
  return { errno, path: where, message: messageOf(error), remedy };
}
