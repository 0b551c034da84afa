import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Bus, Producer } from '../../../pipeline/bus/types.js';
import { buildEnvelope } from '../../../pipeline/envelope.js';
import { isTallyError, messageOf, TallyError } from '../../../pipeline/errors.js';
import type { Logger } from '../../../pipeline/log.js';
import { listen } from '../../../pipeline/runtime/listen.js';
import { logRefusedHandshakes, optionalPeerProblem } from '../beats/tls.js';
import { parseBody } from './body.js';
import { bearerToken, type HttpSourceConfig } from './config.js';

export interface HttpSource {
  port: number;
  url: string;
  close(): Promise<void>;
  stats(): HttpStats;
}

export interface HttpStats {
  accepted: number;
  rejected: number;
  busy: number;
  /** connections closed for a broken or too slow request (timeouts, header overflow, bad HTTP) */
  clientErrors: number;
  /** TLS clients refused (no, untrusted or expired certificate) */
  tlsRefused: number;
}

/** What a client error means, and the answer to give before closing (none when the socket is already unusable). */
function clientErrorAnswer(code: string | undefined): { status: number; reason: string } {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'the request did not arrive in time (headersTimeoutMs / requestTimeoutMs)' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'the request headers are over maxHeaderBytes' };
    default:
      return { status: 400, reason: `the request is not valid HTTP (${code ?? 'parse error'})` };
  }
}

class BodyTooLarge extends Error {}
class OverBudget extends Error {}

/** Body bytes held by all requests together (read, parsed, being sent): the memory bound across concurrent requests. */
interface BodyBudget {
  used: number;
  max: number;
}

/** The body, counted against its own limit and the server-wide budget as it arrives; `held` says how much this request holds. */
function readBody(request: IncomingMessage, limit: number, budget: BodyBudget, held: { bytes: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 'NaN');
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    if (Number.isFinite(declared) && budget.used + declared > budget.max) {
      reject(new OverBudget());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      budget.used += chunk.length;
      held.bytes += chunk.length;
      if (size > limit || budget.used > budget.max) {
        request.removeAllListeners('data');
        reject(size > limit ? new BodyTooLarge() : new OverBudget());
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** HTTP ingest: 2xx only after Kafka acknowledged every event of the request. */
export async function startHttpSource(config: HttpSourceConfig, context: { bus: Bus; log: Logger; producer?: Producer }): Promise<HttpSource> {
  const { bus, log } = context;
  if (config.maxInFlightBytes < config.maxBodyBytes) throw new TallyError('CONFIG_INVALID', `http.maxInFlightBytes (${config.maxInFlightBytes}) must be at least http.maxBodyBytes (${config.maxBodyBytes}), or a body at the limit could never be taken`);
  const producer = context.producer ?? (await bus.producer());
  const token = bearerToken(config);
  const expected = token ? digest(token) : undefined;
  const counters: HttpStats = { accepted: 0, rejected: 0, busy: 0, clientErrors: 0, tlsRefused: 0 };
  let active = 0;
  const budget: BodyBudget = { used: 0, max: config.maxInFlightBytes };

  const send = (response: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void => {
    if (response.headersSent) return;
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(`${JSON.stringify(body)}\n`);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    // a request can be parsed from the first TLS records before 'secureConnection' destroys the socket: refuse it here too
    if (config.tls?.clientCertificates === 'optional' && (request.socket.destroyed || optionalPeerProblem(request.socket as TLSSocket))) {
      request.socket.destroy();
      return;
    }
    const url = new URL(request.url ?? '/', 'http://tally');
    if (request.method === 'GET' && url.pathname === '/healthz') return send(response, 200, { status: 'ok' });
    if (expected) {
      const header = request.headers.authorization ?? '';
      // the scheme is case-insensitive (RFC 9110); the token is compared only through digests
      const given = /^bearer /i.test(header) ? header.slice(7).trim() : '';
      // compare digests of equal length so the time taken says nothing about the token
      if (!timingSafeEqual(digest(given), expected)) {
        request.resume();
        return send(response, 401, { error: 'a valid bearer token is required' }, { 'www-authenticate': 'Bearer' });
      }
    }
    if (request.method !== 'POST') return send(response, 405, { error: 'use POST / or POST /ingest/<kind>' }, { allow: 'POST' });
    const match = /^\/(?:ingest\/([a-z-]+)\/?)?$/.exec(url.pathname);
    const kind = match ? (match[1] ?? config.defaultKind) : undefined;
    if (!kind || !config.kinds.includes(kind)) {
      request.resume();
      return send(response, 404, { error: `unknown path ${url.pathname}; POST to / or /ingest/<kind> with kind one of ${config.kinds.join(', ')}` });
    }
    if (active >= config.maxConcurrentRequests) {
      counters.busy += 1;
      request.resume();
      return send(response, 503, { error: 'busy: too many requests in flight; retry later' }, { 'retry-after': String(config.retryAfterSeconds) });
    }
    active += 1;
    const held = { bytes: 0 };
    try {
      let bytes: Buffer;
      try {
        bytes = await readBody(request, config.maxBodyBytes, budget, held);
      } catch (error) {
        if (error instanceof OverBudget) {
          counters.busy += 1;
          send(response, 503, { error: `busy: the requests in flight hold ${config.maxInFlightBytes} bytes of bodies (maxInFlightBytes); retry later` }, { 'retry-after': String(config.retryAfterSeconds), connection: 'close' });
          request.destroy();
          return;
        }
        if (error instanceof BodyTooLarge) {
          counters.rejected += 1;
          send(response, 413, { error: `the body is over the limit of ${config.maxBodyBytes} bytes` }, { connection: 'close' });
          request.destroy();
          return;
        }
        throw error;
      }
      const parsed = parseBody(bytes, request.headers['content-type']);
      if ('problems' in parsed) {
        counters.rejected += 1;
        return send(response, 400, { error: 'malformed body; nothing was accepted', reasons: parsed.problems.slice(0, 50).map((p) => p.reason), more: Math.max(0, parsed.problems.length - 50) });
      }
      const clientAddress = `${request.socket.remoteAddress ?? 'unknown'}:${request.socket.remotePort ?? 0}`;
      const peer = (request.socket as TLSSocket).getPeerCertificate?.();
      const fields = peer?.subject?.CN ? { client_certificate_cn: peer.subject.CN } : undefined;
      const topic = bus.topic(`raw.${kind}`);
      const now = new Date();
      await producer.send(
        parsed.events.map((event) => ({
          topic,
          key: null,
          value: JSON.stringify(buildEnvelope({ message: event.message, inputType: 'http', clientAddress, timestamp: now, ...(fields ? { fields } : {}) })),
        })),
      );
      counters.accepted += parsed.events.length;
      return send(response, 200, { accepted: parsed.events.length, topic });
    } catch (error) {
      const retriable = !isTallyError(error) || error.retriable;
      log.warn({ err: error }, 'http ingest failed');
      return send(response, retriable ? 503 : 500, { error: `not accepted: ${messageOf(error)}` }, retriable ? { 'retry-after': String(config.retryAfterSeconds) } : {});
    } finally {
      active -= 1;
      budget.used -= held.bytes;
    }
  };

  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    handle(request, response).catch((error: unknown) => {
      log.error({ err: error }, 'http handler failed');
      send(response, 500, { error: 'internal error' });
    });
  };
  const serverOptions = {
    maxHeaderSize: config.maxHeaderBytes,
    requestTimeout: config.requestTimeoutMs,
    headersTimeout: Math.min(config.headersTimeoutMs, config.requestTimeoutMs),
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // node checks the two timeouts only this often (30 s by default): a short timeout needs a short check
    connectionsCheckingInterval: Math.max(5, Math.min(1000, Math.floor(Math.min(config.headersTimeoutMs, config.requestTimeoutMs) / 4))),
  };
  const server = config.tls
    ? https.createServer(
        {
          ...serverOptions,
          cert: readFileSync(config.tls.certFile),
          key: readFileSync(config.tls.keyFile),
          ...(config.tls.caFile ? { ca: readFileSync(config.tls.caFile) } : {}),
          requestCert: config.tls.clientCertificates !== 'none',
          rejectUnauthorized: config.tls.clientCertificates === 'required',
        },
        listener,
      )
    : http.createServer(serverOptions, listener);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    counters.clientErrors += 1;
    const { status, reason } = clientErrorAnswer(error.code);
    const remote = socket as Duplex & { remoteAddress?: string; remotePort?: number };
    log.warn({ client: `${remote.remoteAddress ?? 'unknown'}:${remote.remotePort ?? 0}`, code: error.code, reason }, `closing http connection: ${reason}`);
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ error: reason })}\n`);
    setTimeout(() => socket.destroy(), 1000).unref();
  });
  if (config.tls) {
    const mode = config.tls.clientCertificates;
    server.on('secureConnection', (socket: TLSSocket) => {
      const problem = mode === 'optional' ? optionalPeerProblem(socket) : undefined;
      if (!problem) return;
      counters.tlsRefused += 1;
      log.warn({ client: `${socket.remoteAddress}:${socket.remotePort}`, reason: problem }, `refusing http client: ${problem}`);
      socket.destroy();
    });
    logRefusedHandshakes(server, 'http', log, () => (counters.tlsRefused += 1));
  }
  try {
    await listen(server, config.port, config.host, 'http');
  } catch (error) {
    if (!context.producer) await producer.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  log.info({ port, tls: Boolean(config.tls) }, 'http source listening');
  return {
    port,
    url: `${config.tls ? 'https' : 'http'}://${config.host}:${port}`,
    stats: () => ({ ...counters }),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      if (!context.producer) await producer.close();
    },
  };
}
