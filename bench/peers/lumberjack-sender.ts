import net from 'node:net';
import { encodeWindow } from '../../connectors/sources/beats/encode.js';

/** One window, encoded before the clock starts (zlib level 3 as Filebeat), and how many events it holds. */
export interface EncodedWindow {
  bytes: Buffer;
  events: number;
}

export function encodeWindows(events: readonly object[], windowSize: number, compressionLevel = 3): EncodedWindow[] {
  const windows: EncodedWindow[] = [];
  for (let i = 0; i < events.length; i += windowSize) {
    const slice = events.slice(i, i + windowSize);
    windows.push({ bytes: encodeWindow(slice, { compressionLevel }), events: slice.length });
  }
  return windows;
}

export interface SendOutcome {
  /** ms from writing each window to reading its ACK */
  ackLatencyMs: number[];
  seconds: number;
}

/**
 * A Filebeat-like lumberjack v2 sender: windows written back to back with up to `pipelining`
 * awaiting their ACK (Filebeat's output.logstash default is 2), ACKs read in order; a `2A n` with n
 * below the window's count is a keepalive. The windows are pre-encoded so the sender's own CPU is
 * only the socket writes.
 */
export async function sendWindows(host: string, port: number, windows: readonly EncodedWindow[], pipelining = 2): Promise<SendOutcome> {
  const socket = net.connect(port, host);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const started = performance.now();
  const sentAt: number[] = [];
  const latencies: number[] = [];
  let next = 0;
  let acked = 0;
  let rest: Buffer = Buffer.alloc(0);
  return new Promise<SendOutcome>((resolve, reject) => {
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    const fill = (): void => {
      while (next < windows.length && next - acked < pipelining) {
        sentAt[next] = performance.now();
        socket.write((windows[next] as EncodedWindow).bytes);
        next += 1;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      rest = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      while (rest.length >= 6) {
        if (rest[1] !== 0x41) return fail(new Error(`expected an ACK frame, got ${rest.subarray(0, 6).toString('hex')}`));
        const seq = rest.readUInt32BE(2);
        rest = rest.subarray(6);
        const waiting = windows[acked];
        if (!waiting || seq < waiting.events) continue; // keepalive
        latencies.push(performance.now() - (sentAt[acked] as number));
        acked += 1;
        if (acked === windows.length) {
          socket.end();
          resolve({ ackLatencyMs: latencies, seconds: (performance.now() - started) / 1000 });
          return;
        }
      }
      fill();
    });
    socket.on('error', fail);
    socket.on('close', () => acked < windows.length && fail(new Error(`the beats server closed the connection after ${acked} of ${windows.length} windows`)));
    fill();
  });
}
