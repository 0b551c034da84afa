/** Something with an event time and an id that breaks ties. */
export interface Timed {
  readonly timeMs: number;
  readonly id: string;
}

const before = (a: Timed, b: Timed): boolean => a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.id < b.id);

/**
 * Items kept in (time, id) order. Events arrive mostly in time order, so an insert is usually a
 * push; the oldest leave from the front.
 */
export class TimeOrdered<T extends Timed> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  first(): T | undefined {
    return this.items[this.head];
  }

  insert(item: T): void {
    const last = this.items[this.items.length - 1];
    if (this.size === 0 || (last !== undefined && !before(item, last))) {
      this.items.push(item);
      return;
    }
    this.items.splice(this.lowerBound(item), 0, item);
  }

  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** take out one item (normally the first) */
  remove(item: T): boolean {
    if (this.first() === item) {
      this.shift();
      return true;
    }
    const at = this.lowerBound(item);
    for (let i = at; i < this.items.length && (this.items[i] as T).timeMs === item.timeMs; i += 1) {
      if (this.items[i] === item) {
        this.items.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** items with fromMs <= time <= toMs, oldest first */
  *range(fromMs: number, toMs: number): Generator<T> {
    for (let i = this.lowerBound({ timeMs: fromMs, id: '' }); i < this.items.length; i += 1) {
      const item = this.items[i] as T;
      if (item.timeMs > toMs) return;
      yield item;
    }
  }

  private lowerBound(probe: Timed): number {
    let low = this.head;
    let high = this.items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (before(this.items[middle] as T, probe)) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
