import { messageBytes, type MessageFraming } from './render/framing.js';

/** One rendered record on its way into a message, with the Kafka message it came from. */
export interface BatchEntry<M> {
  /** the record id (Kafka key): a later snapshot with the same id replaces the earlier one */
  id: string;
  /** the rendered record (ASCII) */
  text: string;
  partition: number;
  offset: bigint;
  /** the snapshot's measurement time: a later one replaces an earlier one whatever order they arrive in */
  version?: number;
  message: M;
}

/** A message ready to be written: its records' texts, and every Kafka message it accounts for (superseded ones included). */
export interface SealedBatch<M> {
  type: string;
  texts: string[];
  messages: M[];
  /** body size with framing */
  bytes: number;
  /** records dropped because a later snapshot of the same record replaced them */
  superseded: number;
}

export interface BatcherLimits {
  /** records per message (APEL's and the JSON schemas' limit is 1000; cASO sends 100) */
  maxRecords: number;
  /** body bytes per message */
  maxBytes: number;
}

interface Slot {
  text: string;
  partition: number;
  offset: bigint;
  version?: number;
}

interface OpenBatch<M> {
  slots: Map<string, Slot>;
  recordBytes: number;
  messages: M[];
  superseded: number;
  openedAt: number;
}

/**
 * Groups rendered records into APEL messages: one open message per record type (types never mix),
 * sealed when it reaches maxRecords, when the next record would push it over maxBytes, or when it
 * has been open for the linger time. Within an open message a record id appears once: the snapshot
 * with the later measurement time wins, and between equal times the later Kafka offset (from
 * another partition: the one that arrived later). Pure.
 */
export class ApelBatcher<M> {
  private readonly open = new Map<string, OpenBatch<M>>();

  constructor(
    private readonly limits: BatcherLimits,
    private readonly framings: Readonly<Record<string, MessageFraming>>,
  ) {}

  private framing(type: string): MessageFraming {
    const framing = this.framings[type];
    if (!framing) throw new Error(`no message framing for record type ${type}`);
    return framing;
  }

  /** Whether a record of this size fits in a message on its own; one that does not can never be sent. */
  fits(type: string, textBytes: number): boolean {
    return messageBytes(this.framing(type), 1, textBytes) <= this.limits.maxBytes;
  }

  /** Adds a record; returns the messages this sealed (zero, one, or two when a replacement no longer fits). */
  add(type: string, entry: BatchEntry<M>, now: number): SealedBatch<M>[] {
    const framing = this.framing(type);
    if (!this.fits(type, entry.text.length)) throw new RangeError(`a ${entry.text.length}-byte ${type} record does not fit in a ${this.limits.maxBytes}-byte message`);
    const sealed: SealedBatch<M>[] = [];
    let batch = this.open.get(type);
    const existing = batch?.slots.get(entry.id);
    if (batch && existing) {
      batch.messages.push(entry.message);
      batch.superseded += 1;
      const later =
        entry.version !== undefined && existing.version !== undefined && entry.version !== existing.version
          ? entry.version > existing.version
          : existing.partition !== entry.partition || entry.offset > existing.offset;
      if (!later) return sealed;
      const bytes = batch.recordBytes - existing.text.length + entry.text.length;
      if (messageBytes(framing, batch.slots.size, bytes) <= this.limits.maxBytes) {
        batch.slots.set(entry.id, { text: entry.text, partition: entry.partition, offset: entry.offset, ...(entry.version !== undefined ? { version: entry.version } : {}) });
        batch.recordBytes = bytes;
        return sealed;
      }
      // the newer snapshot no longer fits: the older one leaves this message and the newer one opens the next
      batch.slots.delete(entry.id);
      batch.recordBytes -= existing.text.length;
      batch.messages.pop();
      sealed.push(...this.seal(type));
      batch = undefined;
    } else if (batch && messageBytes(framing, batch.slots.size + 1, batch.recordBytes + entry.text.length) > this.limits.maxBytes) {
      sealed.push(...this.seal(type));
      batch = undefined;
    }
    if (!batch) {
      batch = { slots: new Map(), recordBytes: 0, messages: [], superseded: 0, openedAt: now };
      this.open.set(type, batch);
    }
    batch.slots.set(entry.id, { text: entry.text, partition: entry.partition, offset: entry.offset, ...(entry.version !== undefined ? { version: entry.version } : {}) });
    batch.recordBytes += entry.text.length;
    batch.messages.push(entry.message);
    if (batch.slots.size >= this.limits.maxRecords) sealed.push(...this.seal(type));
    return sealed;
  }

  /** Seals the messages open for at least lingerMs. */
  due(now: number, lingerMs: number): SealedBatch<M>[] {
    return [...this.open].filter(([, batch]) => now - batch.openedAt >= lingerMs).flatMap(([type]) => this.seal(type));
  }

  /** Seals every open message. */
  drain(): SealedBatch<M>[] {
    return [...this.open.keys()].flatMap((type) => this.seal(type));
  }

  /** Drops every open message (their Kafka messages will be delivered again); returns how many Kafka messages were dropped, superseded snapshots included. */
  clear(): number {
    let dropped = 0;
    for (const batch of this.open.values()) dropped += batch.messages.length;
    this.open.clear();
    return dropped;
  }

  pendingRecords(): number {
    let total = 0;
    for (const batch of this.open.values()) total += batch.slots.size;
    return total;
  }

  /** When the oldest open message was opened, or undefined when none is open. */
  oldestOpenedAt(): number | undefined {
    let oldest: number | undefined;
    for (const batch of this.open.values()) oldest = oldest === undefined ? batch.openedAt : Math.min(oldest, batch.openedAt);
    return oldest;
  }

  private seal(type: string): SealedBatch<M>[] {
    const batch = this.open.get(type);
    this.open.delete(type);
    if (!batch) return [];
    if (batch.slots.size === 0) return batch.messages.length ? [{ type, texts: [], messages: batch.messages, bytes: 0, superseded: batch.superseded }] : [];
    const texts = [...batch.slots.values()].map((slot) => slot.text);
    return [{ type, texts, messages: batch.messages, bytes: messageBytes(this.framing(type), texts.length, batch.recordBytes), superseded: batch.superseded }];
  }
}
