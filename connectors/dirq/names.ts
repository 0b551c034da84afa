/**
 * The names of a dirq QueueSimple directory (Python dirq 1.8, Perl Directory::Queue::Simple):
 * `<queue>/<8 hex: seconds rounded down to the granularity>/<14 hex: 8 seconds, 5 microseconds,
 * 1 random digit>`, plus `.tmp` (being written) and `.lck` (a reader's hard-link lock). Pure.
 */
export const DIRECTORY_PATTERN = /^[0-9a-f]{8}$/;
export const ELEMENT_PATTERN = /^[0-9a-f]{14}$/;
export const ELEMENT_ID_PATTERN = /^[0-9a-f]{8}\/[0-9a-f]{14}$/;
export const TEMPORARY_SUFFIX = '.tmp';
export const LOCKED_SUFFIX = '.lck';

const hex = (value: number, width: number): string => value.toString(16).padStart(width, '0');

/** The intermediate directory an element added at `nowSeconds` goes to. */
export function directoryName(nowSeconds: number, granularitySeconds: number): string {
  const seconds = Math.floor(nowSeconds);
  return hex(granularitySeconds > 1 ? seconds - (seconds % granularitySeconds) : seconds, 8);
}

/** Microseconds since the epoch, as precise as the clock allows. */
export function currentMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * Element names of one writer. dirq takes the clock as it is; this one never repeats or goes back
 * (a later call gets a larger name even within one microsecond), so one writer's messages keep
 * their order when SSM sends them in name order.
 */
export class ElementNamer {
  private last = 0;

  constructor(readonly randomDigit: number) {
    if (!Number.isInteger(randomDigit) || randomDigit < 0 || randomDigit > 15) throw new RangeError('the random digit of a dirq name is 0-15');
  }

  next(nowMicros: number = currentMicros()): string {
    const micros = Math.max(nowMicros, this.last + 1);
    this.last = micros;
    return hex(Math.floor(micros / 1e6), 8) + hex(micros % 1e6, 5) + hex(this.randomDigit, 1);
  }
}

/** When an element was named (its enqueue time), in epoch milliseconds; undefined for a name that is not dirq's. */
export function elementTimeMs(element: string): number | undefined {
  if (!ELEMENT_PATTERN.test(element)) return undefined;
  const seconds = Number.parseInt(element.slice(0, 8), 16);
  const micros = Number.parseInt(element.slice(8, 13), 16);
  return seconds * 1000 + Math.floor(micros / 1000);
}
