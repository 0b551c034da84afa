import { open } from 'node:fs/promises';
import type { QueueSimple } from '../../dirq/queue-simple.js';

/** What one pass over the queue met besides the elements it locked. */
export interface PassCounters {
  /** elements another reader had locked (ssmsend, a second tally): left alone */
  lockedByOthers: number;
  /** `.tmp` files seen: elements still being written, never read */
  temporaries: number;
  /** intermediate directories that were gone by the time they were listed */
  vanishedDirectories: number;
  /** elements that could not be locked or read (permissions); left in place */
  unreadable: number;
}

export interface LockedElement {
  /** `<8 hex>/<14 hex>`: the name SSM sends as the message id */
  element: string;
  /** the element's file */
  path: string;
  /** the element's bytes, or only its first `headBytes` when it is over `maxBytes` */
  bytes: Buffer;
  /** the element's size on disk */
  size: number;
  lockedAtMs: number;
}

export const emptyPassCounters = (): PassCounters => ({ lockedByOthers: 0, temporaries: 0, vanishedDirectories: 0, unreadable: 0 });

/**
 * One pass in SSM's order (directories sorted, then names sorted): lock each element, read it
 * through its lock, hand it over. An element locked by someone else, or gone meanwhile, is skipped;
 * one that cannot be locked or read is reported and left as it was. The consumer of the generator
 * owns the locks of what it received.
 */
export async function* lockInOrder(queue: QueueSimple, counters: PassCounters, onUnreadable: (element: string, error: unknown) => void, stopping: () => boolean, limits: ReadLimits = { maxBytes: Number.POSITIVE_INFINITY, headBytes: 0 }): AsyncGenerator<LockedElement> {
  for (const directory of await queue.directories()) {
    if (stopping()) return;
    const listing = await queue.list(directory);
    if (listing.vanished) counters.vanishedDirectories += 1;
    counters.temporaries += listing.temporaries;
    for (const element of listing.elements) {
      if (stopping()) return;
      let locked: boolean;
      try {
        locked = await queue.lock(element);
      } catch (error) {
        counters.unreadable += 1;
        onUnreadable(element, error);
        continue;
      }
      if (!locked) {
        counters.lockedByOthers += 1;
        continue;
      }
      let read: { bytes: Buffer; size: number };
      try {
        read = await readBounded(queue.lockPath(element), limits);
      } catch (error) {
        await queue.unlock(element).catch(() => undefined);
        counters.unreadable += 1;
        onUnreadable(element, error);
        continue;
      }
      yield { element, path: queue.elementPath(element), ...read, lockedAtMs: Date.now() };
    }
  }
}

export interface ReadLimits {
  /** an element larger than this is not read whole */
  maxBytes: number;
  /** how much of such an element is read (for its dead letter) */
  headBytes: number;
}

/** The element's bytes, read through its lock; one over `maxBytes` only up to `headBytes`, so a huge file never sits in memory. */
async function readBounded(file: string, limits: ReadLimits): Promise<{ bytes: Buffer; size: number }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = size > limits.maxBytes ? Math.min(size, limits.headBytes) : size;
    const bytes = Buffer.alloc(length);
    let at = 0;
    while (at < length) {
      const { bytesRead } = await handle.read(bytes, at, length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return { bytes: at === length ? bytes : bytes.subarray(0, at), size: Math.max(size, at) };
  } finally {
    await handle.close();
  }
}
