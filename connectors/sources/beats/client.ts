import net from 'node:net';
import tls from 'node:tls';
import { TallyError } from '../../../pipeline/errors.js';
import { encodeWindow } from './encode.js';

export interface LumberjackClientOptions {
  host: string;
  port: number;
  tls?: tls.ConnectionOptions;
  /** zlib level of the window's compressed frame (Filebeat's default is 3; 0 sends bare frames) */
  compressionLevel?: number;
  /** how long a window may wait for its ACK; 2A 0 keepalives extend it, as in go-lumber */
  ackTimeoutMs?: number;
}

/**
 * A Filebeat-like lumberjack v2 client, for `tally up`, benchmarks and tests: one window at a time,
 * resolved when the server acknowledged every event of it. It does not resend: a caller that wants
 * at-least-once reconnects and sends the window again, as Filebeat does.
 */
export class LumberjackClient {
  private rest: Buffer = Buffer.alloc(0);
  private waiter: { expect: number; resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout } | undefined;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly options: LumberjackClientOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new TallyError('PROTOCOL_ERROR', 'the beats server closed the connection')));
  }

  static async connect(options: LumberjackClientOptions): Promise<LumberjackClient> {
    const socket = options.tls ? tls.connect({ host: options.host, port: options.port, ...options.tls }) : net.connect(options.port, options.host);
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new LumberjackClient(socket, options);
  }

  /** Send one window; resolves once the server acknowledged all of its events. */
  send(events: readonly (object | string)[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('one window at a time'));
    if (events.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = this.options.ackTimeoutMs ?? 30_000;
      const timer = setTimeout(() => this.fail(new TallyError('PROTOCOL_ERROR', `no ACK within ${timeoutMs} ms`)), timeoutMs);
      this.waiter = { expect: events.length, resolve, reject, timer };
      this.socket.write(encodeWindow(events, { compressionLevel: this.options.compressionLevel ?? 3 }));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.rest = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    while (this.rest.length >= 6) {
      if (this.rest[1] !== 0x41) {
        this.fail(new TallyError('PROTOCOL_ERROR', `expected an ACK frame, got bytes ${this.rest.subarray(0, 6).toString('hex')}`));
        return;
      }
      const seq = this.rest.readUInt32BE(2);
      this.rest = this.rest.subarray(6);
      const waiter = this.waiter;
      if (!waiter) continue;
      if (seq >= waiter.expect) {
        clearTimeout(waiter.timer);
        this.waiter = undefined;
        waiter.resolve();
      } else {
        waiter.timer.refresh();
      }
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.socket.destroy();
  }
}
