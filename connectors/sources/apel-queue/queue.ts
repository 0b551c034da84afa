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
  bytes: Buffer;
  lockedAtMs: number;
}

export const emptyPassCounters = (): PassCounters => ({ lockedByOthers: 0, temporaries: 0, vanishedDirectories: 0, unreadable: 0 });

/**
 * One pass in SSM's order (directories sorted, then names sorted): lock each element, read it
 * through its lock, hand it over. An element locked by someone else, or gone meanwhile, is skipped;
 * one that cannot be locked or read is reported and left as it was. The consumer of the generator
 * owns the locks of what it received.
 */
export async function* lockInOrder(queue: QueueSimple, counters: PassCounters, onUnreadable: (element: string, error: unknown) => void, stopping: () => boolean): AsyncGenerator<LockedElement> {
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
      let bytes: Buffer;
      try {
        bytes = await queue.get(element);
      } catch (error) {
        await queue.unlock(element).catch(() => undefined);
        counters.unreadable += 1;
        onUnreadable(element, error);
        continue;
      }
      yield { element, path: queue.elementPath(element), bytes, lockedAtMs: Date.now() };
    }
  }
}
