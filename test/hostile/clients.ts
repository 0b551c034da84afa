import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

/** What a client saw of its connection. */
export interface ConnectionOutcome {
  /** the client's own port: the server's log names the connection by it */
  localPort: number;
  /** bytes the server sent back */
  received: Buffer;
  /** how many of its bytes the client got to send before the server closed */
  sent: number;
}

/**
 * Write `bytes` on a fresh TCP connection (one byte per `dribbleMs` when given) and wait until the
 * server closes, or until `ackBytes` bytes came back (then close ourselves), or `timeoutMs`.
 */
export function tcpExchange(port: number, bytes: Buffer, options: { dribbleMs?: number; untilReceived?: number; timeoutMs: number }): Promise<ConnectionOutcome & { closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let sent = 0;
    let localPort = 0;
    let closedByUs = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearInterval(timer);
      clearTimeout(deadline);
      resolve({ localPort, received: Buffer.concat(chunks), sent, closedByServer: !closedByUs });
    };
    const deadline = setTimeout(() => {
      closedByUs = true;
      socket.destroy();
    }, options.timeoutMs);
    socket.on('connect', () => {
      localPort = socket.localPort ?? 0;
      if (options.dribbleMs) {
        timer = setInterval(() => {
          if (sent < bytes.length && socket.writable) socket.write(bytes.subarray(sent, ++sent));
        }, options.dribbleMs);
      } else if (bytes.length > 0) {
        socket.write(bytes, () => (sent = bytes.length));
      }
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.untilReceived !== undefined && Buffer.concat(chunks).length >= options.untilReceived) {
        closedByUs = true;
        socket.end();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', finish);
  });
}

/** The lumberjack ACK of the window's last sequence number is 6 bytes: '2A' + u32. Keepalives ('2A 0') come first while Kafka is slow. */
export function ackedSeq(received: Buffer): number | undefined {
  let last: number | undefined;
  for (let at = 0; at + 6 <= received.length; at += 6) {
    if (received[at + 1] === 0x41) {
      const seq = received.readUInt32BE(at + 2);
      if (seq > 0) last = seq;
    }
  }
  return last;
}

export interface HttpOutcome {
  status: number;
  body: string;
}

/** One request with node:http, answered even when the server stops reading the body early (413). */
export function httpRequest(port: number, request: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer }): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    let answered = false;
    const req = http.request({ host: '127.0.0.1', port, method: request.method ?? 'POST', path: request.path, agent: false, headers: { 'content-type': 'application/json', ...request.headers, ...(request.body ? { 'content-length': String(request.body.length) } : {}) } }, (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      response.on('error', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', (error) => {
      if (!answered) resolve({ status: 0, body: `client error: ${error.message}` });
    });
    req.setTimeout(30_000, () => req.destroy());
    if (request.body) req.end(request.body);
    else req.end();
  });
}

/** The status line and body of a raw HTTP answer. */
export function parseRawHttp(received: Buffer): HttpOutcome {
  const text = received.toString('latin1');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
  const cut = text.indexOf('\r\n\r\n');
  return { status, body: cut === -1 ? '' : text.slice(cut + 4) };
}

/** Add one element to a dirq QueueSimple directory the way a writer does: a .tmp, then its final name. */
export async function addQueueElement(queueDir: string, sequence: number, bytes: Buffer): Promise<void> {
  const dir = path.join(queueDir, '00000001');
  await mkdir(dir, { recursive: true });
  const name = sequence.toString(16).padStart(14, '0');
  const tmp = path.join(dir, `${name}.tmp`);
  await writeFile(tmp, bytes);
  await rename(tmp, path.join(dir, name));
}

export async function appendLines(file: string, bytes: Buffer): Promise<void> {
  await appendFile(file, bytes);
}
