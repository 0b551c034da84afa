import { TimeOrdered } from './time-ordered.js';

interface Waiting<H> {
  readonly timeMs: number;
  readonly id: string;
  readonly handles: H[];
}

/**
 * Archived events wait here, written, until they may be committed. A trigger's context is only
 * safe once all of it is in Elasticsearch: if one part were committed and another lost in a crash,
 * the replay could not rebuild the lost part (the committed events that put a request in flight
 * would not be read again). A context spans at most 2 × horizon, so an archived event may pass once
 * every event up to 2 × horizon after it has been released and written.
 */
export class CommitGate<H> {
  private readonly waiting = new TimeOrdered<Waiting<H>>();

  constructor(private readonly spanMs: number) {}

  get size(): number {
    return this.waiting.size;
  }

  /** an archived event whose document Elasticsearch acknowledged */
  hold(timeMs: number, id: string, handles: H[]): void {
    this.waiting.insert({ timeMs, id, handles });
  }

  /** what may be committed, given that every event older than releasedBelowMs is released and written */
  pass(releasedBelowMs: number): H[] {
    const out: H[] = [];
    for (let item = this.waiting.first(); item && item.timeMs + this.spanMs < releasedBelowMs; item = this.waiting.first()) {
      this.waiting.shift();
      out.push(...item.handles);
    }
    return out;
  }
}
