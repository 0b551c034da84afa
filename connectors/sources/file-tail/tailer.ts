import { isUtf8 } from 'node:buffer';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Stats } from 'node:fs';
import type { Bus, OutgoingRecord, Producer } from '../../../pipeline/bus/types.js';
import { TallyError, type ErrorCode } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';
import { compiledGlobs, lineFilter, resolveFileTailConfig, toRegExp, type FileTailConfig, type FileTailConfigInput } from './config.js';
import { prefixMatches, readPrefix, readPrefixOf, sha256 } from './fingerprint.js';
import { expandGlobs } from './glob.js';
import type { Piece } from './lines.js';
import { deadLetterRecord, LineRecordTemplate, type LineOrigin, type RecordContext } from './records.js';
import { Cursor, Registry, type RegistryOrigin } from './registry.js';
import { Sender, type Item } from './sender.js';
import { Signal } from './signal.js';
import { TailedFile } from './tailed-file.js';

export interface FileTailDeps {
  bus: Bus;
  log: Logger;
  /** use this producer instead of opening one (it is not closed on stop) */
  producer?: Producer;
}

export interface FileTailStats {
  registry: { path: string; origin: RegistryOrigin; flushes: number; problem?: string };
  files: { open: number; tracked: number; detached: number };
  bytesRead: number;
  linesRead: number;
  /** lines Kafka acknowledged on raw.<kind> */
  linesSent: number;
  linesFiltered: number;
  linesEmpty: number;
  /** dead letters Kafka acknowledged on dlq.<kind>, by reason */
  deadLetters: { tooLarge: number; invalidUtf8: number };
  sends: number;
  sendRetries: number;
  renames: number;
  truncations: number;
  copiesContinued: number;
  lastError?: string;
}

export interface FileTail {
  /** Stop reading, send what was read (giving up after `deadlineMs` if Kafka does not answer), flush the registry. */
  stop(options?: { deadlineMs?: number }): Promise<void>;
  /** Stop without sending or flushing anything more: what a crash leaves (for tests). */
  abort(): Promise<void>;
  stats(): FileTailStats;
  /** look for new, renamed and removed files now instead of at the next interval */
  scanNow(): Promise<void>;
  readonly config: FileTailConfig;
}

const devIno = (st: { dev: number; ino: number }): string => `${st.dev}:${st.ino}`;
const now = (): string => new Date().toISOString();

/** Tail files into raw.<kind>, Filebeat-style; see connectors/sources/file-tail/README.md. */
export async function startFileTail(input: FileTailConfigInput | FileTailConfig, deps: FileTailDeps): Promise<FileTail> {
  const config = resolveFileTailConfig(input);
  const log = deps.log.child({ component: 'file-tail', kind: config.kind });
  const { registry, loaded } = await Registry.open(config.registryPath, log, config.corruptRegistry);
  let producer: Producer;
  try {
    producer = deps.producer ?? (await deps.bus.producer());
  } catch (error) {
    await registry.abandon();
    throw error;
  }
  const tail = new Tailer(config, log, registry, loaded.origin, loaded.problem, producer, deps.bus, deps.producer === undefined);
  try {
    await tail.start();
  } catch (error) {
    await tail.abort();
    throw error;
  }
  return {
    config,
    stop: (options) => tail.stop(options?.deadlineMs),
    abort: () => tail.abort(),
    stats: () => tail.stats(),
    scanNow: () => tail.scan(),
  };
}

class Tailer {
  private readonly files = new Map<string, TailedFile>();
  private readonly suspects = new Map<string, number>();
  private readonly globs;
  private readonly excludeFiles: RegExp[];
  private readonly rotation: RegExp;
  private readonly keep: (line: string) => boolean;
  private readonly context: RecordContext;
  private readonly sender: Sender;
  private readonly wake = new Signal();
  private seq: number;
  private stopping = false;
  private scanning: Promise<void> | undefined;
  private scanAgain: Promise<void> | undefined;
  private scansStarted = 0;
  private scansCompleted = 0;
  private readLoop: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private readonly counters = { bytesRead: 0, linesRead: 0, linesSent: 0, linesFiltered: 0, linesEmpty: 0, tooLarge: 0, invalidUtf8: 0, renames: 0, truncations: 0, copiesContinued: 0 };

  constructor(
    readonly config: FileTailConfig,
    private readonly log: Logger,
    private readonly registry: Registry,
    private readonly registryOrigin: RegistryOrigin,
    private readonly registryProblem: string | undefined,
    private readonly producer: Producer,
    bus: Bus,
    private readonly ownProducer: boolean,
  ) {
    this.globs = compiledGlobs(config);
    // never tail the registry itself (nor its .bak, .tmp and .lock), even when a glob matches it
    const registryFile = path.resolve(config.registryPath).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.excludeFiles = [...config.excludeFiles.map(toRegExp), new RegExp(`^${registryFile}($|\\.)`)];
    this.rotation = toRegExp(config.rotationSuffix);
    this.keep = lineFilter(config);
    this.context = { kind: config.kind, topic: bus.topic(`raw.${config.kind}`), dlqTopic: bus.topic(`dlq.${config.kind}`), tags: config.tags ?? [], fields: config.fields, keyBy: config.keyBy };
    this.seq = registry.all().reduce((max, c) => Math.max(max, c.seq), 0);
    // kafkajs may reorder concurrent sends (each waits for metadata before taking the broker lock); librdkafka keeps their order
    const maxInFlightSends = bus.backend === 'kafkajs' ? 1 : config.maxInFlightSends;
    this.sender = new Sender(producer, { ...config, maxInFlightSends }, { acked: (items) => this.acked(items), tooLarge: (item, reason) => this.refused(item, reason), log });
  }

  async start(): Promise<void> {
    await this.scan();
    this.readLoop = this.read();
    const scanTimer = setInterval(() => void this.scan().catch((error: unknown) => this.log.error({ err: error }, 'scanning for files failed')), this.config.scanIntervalMs);
    this.timers.push(scanTimer);
    if (this.config.registryFlushMs > 0) {
      this.timers.push(setInterval(() => void this.flush(), this.config.registryFlushMs));
    }
    this.log.info({ paths: this.config.paths, registry: this.registry.file, topic: this.context.topic }, 'tailing files');
  }

  stream(file: string): string {
    return file.replace(this.rotation, '');
  }

  // ---- scanning: new, renamed, removed, copied files ----

  /** One scan at a time; a request during a scan runs another right after it (so it sees the world after the request). */
  scan(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.scanning) {
      this.scanAgain ??= this.scanning.catch(() => undefined).then(() => {
        this.scanAgain = undefined;
        return this.scan();
      });
      return this.scanAgain;
    }
    this.scanning = this.scanOnce().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const scanId = ++this.scansStarted;
    const found: { path: string; st: Stats }[] = [];
    for (const file of await expandGlobs(this.globs)) {
      if (this.excludeFiles.some((re) => re.test(file))) continue;
      const st = await stat(file).catch(() => undefined);
      if (st?.isFile()) found.push({ path: file, st });
    }
    // older first: x.log.2 gets a smaller seq than x.log.1, which gets a smaller one than x.log
    found.sort((a, b) => a.st.mtimeMs - b.st.mtimeMs || b.path.localeCompare(a.path));
    const attached = new Set([...this.files.values()].map((f) => f.cursor));
    const known = new Map(this.registry.all().filter((c) => !c.detached && !attached.has(c)).map((c) => [devIno(c), c]));
    const seen = new Set<string>();
    const unknown: { path: string; st: Stats; key: string }[] = [];
    // files we know first (a known file found changed leaves its state for a copy to continue), then new ones
    for (const { path: file, st } of found) {
      if (this.stopping) return;
      const key = devIno(st);
      if (seen.has(key)) continue;
      seen.add(key);
      const tracked = this.files.get(key);
      const registered = known.get(key);
      if (tracked) await this.revisit(tracked, file, st);
      else if (!registered || !(await this.resume(file, st, key, registered))) unknown.push({ path: file, st, key });
    }
    for (const { path: file, st, key } of unknown) {
      if (this.stopping) return;
      await this.discover(file, st, key);
    }
    for (const file of [...this.files.values()]) if (!seen.has(file.key)) await this.lost(file);
    this.cleanUp(seen);
    this.scansCompleted = scanId;
    this.wake.notify();
  }

  private async revisit(file: TailedFile, where: string, st: Stats): Promise<void> {
    file.missing = false;
    if (file.cursor.path !== where) this.renamed(file, where);
    if (!file.handle && st.size !== file.cursor.enqueued) await this.openFile(file);
  }

  private renamed(file: TailedFile, where: string): void {
    this.log.info({ from: file.cursor.path, to: where, offset: file.cursor.offset }, 'file renamed (rotation): reading on under its new name');
    file.cursor.path = where;
    file.stream = this.stream(where);
    this.counters.renames += 1;
    this.registry.touch();
  }

  /** A registered file seen again (at start-up): resume at its offset if it is still the same file, else leave its state to a copy. */
  private async resume(file: string, st: Stats, key: string, known: Cursor): Promise<boolean> {
    const prefix = await readPrefixOf(file, this.config.fingerprintBytes);
    if (prefix && prefixMatches(prefix, known) && st.size >= known.offset) {
      if (known.path !== file) this.log.info({ from: known.path, to: file }, 'file renamed while not running');
      known.path = file;
      await this.track(known, key, file);
      return true;
    }
    this.log.warn({ path: file, offset: known.offset }, 'file changed while not running (truncated, or its inode reused): reading it from its start');
    this.detach(known);
    return false;
  }

  private async discover(file: string, st: Stats, key: string): Promise<void> {
    const prefix = await readPrefixOf(file, this.config.fingerprintBytes);
    if (!prefix) return;
    // the copy must show it holds everything read from the truncated file (or its full fingerprint)
    const copied = this.registry.all().find((c) => c.detached && c.fingerprintBytes > 0 && c.fingerprintBytes >= Math.min(c.enqueued, this.config.fingerprintBytes) && prefixMatches(prefix, c));
    if (copied) {
      this.log.info({ path: file, of: copied.path, offset: copied.enqueued }, 'new file holds the first bytes of a truncated one (copytruncate): continuing where that one was left');
      this.counters.copiesContinued += 1;
      delete copied.detached;
      copied.dev = st.dev;
      copied.ino = st.ino;
      copied.path = file;
      copied.enqueued = Math.min(copied.enqueued, st.size);
      return this.track(copied, key, file);
    }
    const twin = [...this.files.values()].find((f) => f.cursor.enqueued > 0 && f.cursor.fingerprintBytes > 0 && prefixMatches(prefix, f.cursor));
    if (twin) {
      const first = this.suspects.get(key) ?? Date.now();
      this.suspects.set(key, first);
      if (Date.now() - first < this.config.copyGraceMs) return; // maybe a copy whose original is about to be truncated
      this.log.info({ path: file, twin: twin.cursor.path }, 'new file starts like a tracked one but that one was not truncated: reading it as a file of its own');
    }
    this.suspects.delete(key);
    this.seq += 1;
    const baseId = `${st.ino}-${st.dev}`;
    const id = this.registry.get(baseId) ? `${baseId}-${this.seq}` : baseId;
    const cursor = new Cursor({ id, dev: st.dev, ino: st.ino, path: file, fingerprint: sha256(prefix), fingerprintBytes: prefix.length, offset: 0, seq: this.seq, updated: now() });
    this.log.info({ path: file, size: st.size }, 'new file: reading from its start');
    return this.track(cursor, key, file);
  }

  private async track(cursor: Cursor, key: string, file: string): Promise<void> {
    this.registry.add(cursor);
    const tailed = new TailedFile(cursor, key, this.stream(file), this.config);
    this.files.set(key, tailed);
    await this.openFile(tailed);
  }

  private async openFile(file: TailedFile): Promise<void> {
    let open = 0;
    for (const f of this.files.values()) if (f.handle) open += 1;
    if (open >= this.config.maxOpenFiles) return; // tried again at the next scan
    if (!(await file.open())) this.log.debug({ path: file.cursor.path }, 'file vanished before it could be opened');
  }

  /** Not matched by this scan: renamed out of the globs or deleted. An open file is read to its end first. */
  private async lost(file: TailedFile): Promise<void> {
    if (!file.handle) return this.forget(file, 'removed');
    if (file.missing) return;
    file.missing = true;
    const elsewhere = await findByIdentity(path.dirname(file.cursor.path), file.cursor);
    if (elsewhere) this.renamed(file, elsewhere);
  }

  private async forget(file: TailedFile, why: string): Promise<void> {
    await file.close();
    this.files.delete(file.key);
    if (this.config.cleanRemoved) {
      this.registry.remove(file.cursor);
      this.log.info({ path: file.cursor.path, offset: file.cursor.offset, why }, 'file no longer matched: forgetting it (clean_removed)');
    }
  }

  private detach(cursor: Cursor): void {
    cursor.detached = now();
    this.registry.touch();
  }

  private cleanUp(seen: Set<string>): void {
    const attached = new Set([...this.files.values()].map((f) => f.cursor));
    const nowMs = Date.now();
    for (const cursor of this.registry.all()) {
      if (attached.has(cursor) || cursor.pending > 0) continue;
      if (cursor.detached) {
        if (nowMs - Date.parse(cursor.detached) > this.config.detachedTtlMs) this.registry.remove(cursor);
      } else if (!seen.has(devIno(cursor)) && this.config.cleanRemoved) {
        this.log.info({ path: cursor.path, offset: cursor.offset }, 'registered file no longer exists: forgetting it (clean_removed)');
        this.registry.remove(cursor);
      }
    }
    for (const key of this.suspects.keys()) if (!seen.has(key)) this.suspects.delete(key);
  }

  // ---- reading ----

  private async read(): Promise<void> {
    while (!this.stopping) {
      let progressed = false;
      let nextCheck = Date.now() + this.config.pollIntervalMs;
      const files = [...this.files.values()].filter((f) => f.handle).sort((a, b) => a.cursor.seq - b.cursor.seq);
      for (const file of files) {
        if (this.stopping || this.sender.full) break;
        if (file.holdUntilScan > this.scansCompleted || (await this.blocked(file, files))) continue;
        const nowMs = Date.now();
        if (file.nextCheckAt > nowMs) {
          nextCheck = Math.min(nextCheck, file.nextCheckAt);
          continue;
        }
        try {
          progressed = (await this.readStep(file)) || progressed;
        } catch (error) {
          this.log.warn({ err: error, path: file.cursor.path }, 'reading a file failed; closing it until the next scan');
          await file.close();
        }
      }
      if (this.stopping) break;
      if (this.sender.full) await this.sender.space.wait(this.config.pollIntervalMs);
      else if (!progressed) await this.wake.wait(Math.max(1, nextCheck - Date.now()));
    }
  }

  /** an older generation of the same stream (x.log.1 before the new x.log) still has lines to read */
  private async blocked(file: TailedFile, open: TailedFile[]): Promise<boolean> {
    for (const other of open) {
      if (other !== file && other.handle && other.stream === file.stream && other.cursor.seq < file.cursor.seq && !(await other.drained())) return true;
    }
    return false;
  }

  private async readStep(file: TailedFile): Promise<boolean> {
    const result = await file.step();
    switch (result.kind) {
      case 'pieces': {
        this.counters.bytesRead += result.bytes;
        const time = LineRecordTemplate.timestamp();
        for (const piece of result.pieces) this.enqueue(file, piece, time);
        this.registry.touch();
        return true;
      }
      case 'truncated':
        await this.truncated(file, result.reason);
        return true;
      case 'gone':
        return false;
      case 'eof': {
        file.nextCheckAt = Date.now() + this.config.pollIntervalMs;
        const idle = Date.now() - file.lastReadAt >= this.config.closeInactiveMs;
        if (file.missing && (result.deleted || idle)) await this.forget(file, result.deleted ? 'deleted' : 'renamed away and inactive');
        else if (idle) {
          this.log.debug({ path: file.cursor.path }, 'closing inactive file (close_inactive)');
          await file.close();
        }
        return false;
      }
    }
  }

  /** copytruncate (or a rewrite): the old state waits for a copy to continue it; this file restarts at 0 */
  private async truncated(file: TailedFile, reason: string): Promise<void> {
    const old = file.cursor;
    // fingerprint the new content now, so a later copy of it can be told (and continue) too
    const prefix = file.handle ? await readPrefix(file.handle, this.config.fingerprintBytes).catch(() => Buffer.alloc(0)) : Buffer.alloc(0);
    this.counters.truncations += 1;
    this.log.info({ path: old.path, reason, offset: old.offset }, 'file truncated (copytruncate?): reading it again from its start; lines written between the copy and the truncation are lost by copytruncate itself');
    this.detach(old);
    this.seq += 1;
    const cursor = new Cursor({ id: `${old.ino}-${old.dev}-${this.seq}`, dev: old.dev, ino: old.ino, path: old.path, fingerprint: sha256(prefix), fingerprintBytes: prefix.length, offset: 0, seq: this.seq, updated: now() });
    this.registry.add(cursor);
    file.cursor = cursor;
    file.restartAt(0);
    // hold this file until a scan that starts now has looked for the copy (which is read first, being older)
    file.holdUntilScan = this.scansStarted + 1;
    void this.scan();
  }

  private origin(file: TailedFile, offset: number): LineOrigin {
    return { path: file.cursor.path, offset, fileId: file.cursor.id, stream: file.stream };
  }

  private template(file: TailedFile): LineRecordTemplate {
    const t = file.template;
    if (t && t.origin.path === file.cursor.path && t.origin.fileId === file.cursor.id && t.origin.stream === file.stream) return t;
    file.template = new LineRecordTemplate(this.context, { path: file.cursor.path, fileId: file.cursor.id, stream: file.stream });
    return file.template;
  }

  private enqueue(file: TailedFile, piece: Piece, time: string): void {
    this.counters.linesRead += 1;
    const cursor = file.cursor;
    if (piece.kind === 'oversize') {
      const message = `line at byte ${piece.start} of ${cursor.path} is ${piece.length} bytes, over the limit of ${this.config.maxLineBytes} (maxLineBytes); it is skipped and its first ${piece.head.length} bytes go to ${this.context.dlqTopic}`;
      return this.deadLetter(file, piece.start, piece.end, 'RECORD_TOO_LARGE', message, piece.head, piece.length);
    }
    let bytes = piece.bytes;
    if (piece.start === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    if (bytes.length === 0) {
      this.counters.linesEmpty += 1;
      return this.sender.push({ cursor, end: piece.end, kind: 'skip', record: null });
    }
    if (this.config.invalidUtf8 === 'dlq' && !isUtf8(bytes)) {
      const message = `line at byte ${piece.start} of ${cursor.path} is not valid UTF-8; it goes to ${this.context.dlqTopic} as bytes (invalidUtf8: dlq)`;
      return this.deadLetter(file, piece.start, piece.end, 'RECORD_UNPARSABLE', message, bytes.subarray(0, 4096), bytes.length);
    }
    const text = bytes.toString('utf8');
    if (!this.keep(text)) {
      this.counters.linesFiltered += 1;
      return this.sender.push({ cursor, end: piece.end, kind: 'skip', record: null });
    }
    const template = this.template(file);
    const record = template.record(text, piece.start, time);
    if (record.value.length > this.config.maxRecordBytes) {
      const message = `line at byte ${piece.start} of ${cursor.path} makes a ${record.value.length}-byte record, over the limit of ${this.config.maxRecordBytes} (maxRecordBytes); it goes to ${this.context.dlqTopic}`;
      return this.deadLetter(file, piece.start, piece.end, 'RECORD_TOO_LARGE', message, bytes.subarray(0, 1024), bytes.length);
    }
    this.sender.push({ cursor, end: piece.end, kind: 'line', record, origin: template.origin, offset: piece.start });
  }

  private deadLetter(file: TailedFile, start: number, end: number, code: ErrorCode, message: string, head: Buffer, length: number): void {
    const error = new TallyError(code, message, { details: { path: file.cursor.path, offset: start, bytes: length } });
    this.log.warn({ err: error, code }, message);
    this.sender.push({ cursor: file.cursor, end, kind: 'dlq', record: deadLetterRecord(this.context, this.origin(file, start), { code, message }, head, length) });
  }

  /** Kafka refused a record as too large: it becomes a dead letter with the line's first bytes */
  private refused(item: Item, reason: string): OutgoingRecord {
    const origin: LineOrigin = { ...(item.origin as Omit<LineOrigin, 'offset'>), offset: item.offset as number };
    const message = (JSON.parse(String(item.record?.value)) as { message: string }).message;
    const bytes = Buffer.from(message);
    const text = `line at byte ${origin.offset} of ${origin.path} was refused by Kafka as too large (${reason}); its first bytes go to ${this.context.dlqTopic}`;
    this.log.warn({ code: 'RECORD_TOO_LARGE', path: origin.path, offset: origin.offset }, text);
    return deadLetterRecord(this.context, origin, { code: 'RECORD_TOO_LARGE', message: text }, bytes.subarray(0, 1024), bytes.length);
  }

  private acked(items: Item[]): void {
    const stamp = now();
    for (const item of items) {
      item.cursor.offset = item.end;
      item.cursor.updated = stamp;
      if (item.kind === 'line') this.counters.linesSent += 1;
      else if (item.kind === 'dlq') {
        const code = String(item.record?.headers?.['tally-reason']);
        if (code === 'RECORD_TOO_LARGE') this.counters.tooLarge += 1;
        else this.counters.invalidUtf8 += 1;
      }
    }
    this.registry.touch();
    if (this.config.registryFlushMs === 0) void this.flush();
  }

  private async flush(): Promise<void> {
    try {
      await this.registry.flush();
    } catch (error) {
      this.log.error({ err: error, registry: this.registry.file }, 'writing the file registry failed; will retry (on a crash now, acknowledged lines would be sent again)');
    }
  }

  // ---- stopping ----

  private async halt(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.wake.notify();
    this.sender.space.notify();
    await this.readLoop;
    await this.scanning?.catch(() => undefined);
  }

  async stop(deadlineMs?: number): Promise<void> {
    if (this.stopping) return;
    await this.halt();
    await this.sender.stop(deadlineMs);
    for (const file of this.files.values()) await file.close();
    await this.registry.flush().catch((error: unknown) => this.log.error({ err: error }, 'final registry flush failed'));
    await this.registry.close().catch(() => undefined);
    if (this.ownProducer) await this.producer.close().catch((error: unknown) => this.log.warn({ err: error }, 'closing the producer failed'));
    this.log.info(this.stats(), 'file tail stopped');
  }

  async abort(): Promise<void> {
    if (this.stopping) return;
    this.sender.abandon();
    await this.halt();
    await this.sender.stop();
    for (const file of this.files.values()) await file.close();
    await this.registry.abandon();
    if (this.ownProducer) await this.producer.close().catch(() => undefined);
  }

  stats(): FileTailStats {
    const open = [...this.files.values()].filter((f) => f.handle).length;
    const detached = this.registry.all().filter((c) => c.detached).length;
    const c = this.counters;
    return {
      registry: { path: this.registry.file, origin: this.registryOrigin, flushes: this.registry.flushes, ...(this.registryProblem ? { problem: this.registryProblem } : {}) },
      files: { open, tracked: this.files.size, detached },
      bytesRead: c.bytesRead,
      linesRead: c.linesRead,
      linesSent: c.linesSent,
      linesFiltered: c.linesFiltered,
      linesEmpty: c.linesEmpty,
      deadLetters: { tooLarge: c.tooLarge, invalidUtf8: c.invalidUtf8 },
      sends: this.sender.sends,
      sendRetries: this.sender.retries,
      renames: c.renames,
      truncations: c.truncations,
      copiesContinued: c.copiesContinued,
      ...(this.sender.lastError ? { lastError: this.sender.lastError } : {}),
    };
  }
}

/** The new name of a file renamed out of the globs, when it stayed in its directory. */
async function findByIdentity(dir: string, identity: { dev: number; ino: number }): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const st = await stat(path.join(dir, name)).catch(() => undefined);
    if (st && st.dev === identity.dev && st.ino === identity.ino) return path.join(dir, name);
  }
  return undefined;
}

