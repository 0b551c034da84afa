import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { IncomingMessage, OutgoingRecord, Producer } from '../../../../pipeline/bus/types.js';
import { TallyError } from '../../../../pipeline/errors.js';
import type { Logger } from '../../../../pipeline/log.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** test/fixtures/beats, from the compiled file in dist/test/connectors/sources/beats */
export const fixtureDir = path.resolve(here, '../../../../../test/fixtures/beats');

export function fixture(name: string): string {
  return readFileSync(path.join(fixtureDir, name), 'utf8');
}

/** The Filebeat events of filebeat-events.ndjson, as their JSON text. */
export function filebeatEvents(): string[] {
  return fixture('filebeat-events.ndjson').trim().split('\n');
}

export const valueOf = (m: IncomingMessage): Record<string, unknown> => JSON.parse(m.value?.toString('utf8') ?? 'null') as Record<string, unknown>;

/** A raw lumberjack client: writes the bytes it is given and records every ACK frame it reads. */
export class TestClient {
  readonly acks: number[] = [];
  readonly closed: Promise<void>;
  error: Error | undefined;
  private rest = Buffer.alloc(0);
  private wake: (() => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.rest = Buffer.concat([this.rest, chunk]);
      while (this.rest.length >= 6) {
        if ((this.rest[0] !== 0x32 && this.rest[0] !== 0x31) || this.rest[1] !== 0x41) {
          this.error = new Error(`not an ack frame: ${this.rest.toString('hex')}`);
          socket.destroy();
          return;
        }
        this.acks.push(this.rest.readUInt32BE(2));
        this.rest = this.rest.subarray(6);
      }
      this.wake?.();
    });
    socket.on('error', (error) => (this.error = error));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(port: number, tlsOptions?: tls.ConnectionOptions): Promise<TestClient> {
    const socket = tlsOptions ? tls.connect({ host: '127.0.0.1', port, ...tlsOptions }) : net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once(tlsOptions ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new TestClient(socket);
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The non-zero acks received, in order. */
  get positiveAcks(): number[] {
    return this.acks.filter((a) => a !== 0);
  }

  async waitFor(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; acks so far: ${this.acks.join(',')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  waitForAcks(count: number, timeoutMs = 30_000): Promise<void> {
    return this.waitFor(`${count} positive acks`, timeoutMs, () => this.positiveAcks.length >= count);
  }

  /** Resolves true if the server closed the connection within timeoutMs. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs))]);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A pino logger whose lines the test can read. */
export function capturedLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A real producer with a hand on it: `failures` sends fail with a retriable error first, and
 * while `hold()` is on every send waits for `release()`. Counts what reached Kafka.
 */
export class HeldProducer implements Producer {
  failures = 0;
  sends = 0;
  delivered = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  constructor(private readonly real: Producer) {}

  hold(): void {
    this.gate ??= new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  async send(records: OutgoingRecord[]): Promise<void> {
    this.sends += 1;
    await this.gate;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new TallyError('KAFKA_RETRIABLE', 'producing failed: broker not available (injected)');
    }
    await this.real.send(records);
    this.delivered += records.length;
  }

  close(): Promise<void> {
    return this.real.close();
  }
}
