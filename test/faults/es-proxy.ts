import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, portRange } from '../support/world.js';

/**
 * An HTTP proxy in front of Elasticsearch that, while `faulty`, answers some `_bulk` requests 503
 * as a whole and, for others, forwards only part of the items and answers the rest as per-item
 * 429 es_rejected_execution_exception, exactly where they were in the request: those items really
 * were not indexed. Everything else passes through. When Elasticsearch is unreachable the client's
 * connection is cut, as a stopped node would.
 */
export interface EsProxy {
  url: string;
  /** while faulty, a quarter of the _bulk requests are answered 503, half partially rejected, a quarter pass */
  setFaulty(faulty: boolean): void;
  /**
   * The negative control of the suite, never a fault to survive: while lying, a part of each bulk's
   * items is not forwarded yet answered 201 as if indexed, so the sink cannot know. The checks must
   * see those records lost.
   */
  setLying(lying: boolean): void;
  /** while refusing, every _bulk request is answered 503: a cluster that cannot index anything */
  setRefusing(refusing: boolean): void;
  stats: { bulks: number; whole503: number; partial: number; itemsRejected: number };
  close(): Promise<void>;
}

interface Action {
  lines: string[];
}

/** Split an NDJSON bulk body into actions: an action line plus its source line (none for delete). */
function actionsOf(body: string): Action[] {
  const lines = body.split('\n').filter((line) => line !== '');
  const actions: Action[] = [];
  for (let i = 0; i < lines.length; ) {
    const head = lines[i] ?? '';
    const op = Object.keys(JSON.parse(head) as Record<string, unknown>)[0];
    const take = op === 'delete' ? 1 : 2;
    actions.push({ lines: lines.slice(i, i + take) });
    i += take;
  }
  return actions;
}

function rejectedItem(action: Action): Record<string, unknown> {
  const head = JSON.parse(action.lines[0] ?? '{}') as Record<string, { _index?: string; _id?: string }>;
  const [op, meta] = Object.entries(head)[0] ?? ['index', {}];
  return {
    [op]: {
      _index: meta._index,
      _id: meta._id,
      status: 429,
      error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation [injected by the fault proxy]' },
    },
  };
}

function acceptedItem(action: Action): Record<string, unknown> {
  const head = JSON.parse(action.lines[0] ?? '{}') as Record<string, { _index?: string; _id?: string }>;
  const [op, meta] = Object.entries(head)[0] ?? ['index', {}];
  return { [op]: { _index: meta._index, _id: meta._id, _version: 1, result: 'created', status: 201, _shards: { total: 1, successful: 1, failed: 0 } } };
}

export async function startEsProxy(target: string, random: () => number): Promise<EsProxy> {
  const upstream = new URL(target);
  let faulty = false;
  let lying = false;
  let refusing = false;
  const stats = { bulks: 0, whole503: 0, partial: 0, itemsRejected: 0 };

  const forward = (request: http.IncomingMessage, body: Buffer, onResponse: (status: number, headers: http.IncomingHttpHeaders, body: Buffer) => void, onError: () => void): void => {
    const headers = { ...request.headers, host: upstream.host, 'content-length': String(body.length) };
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => onResponse(response.statusCode ?? 502, response.headers, Buffer.concat(chunks)));
      response.on('error', onError);
    });
    out.on('error', onError);
    out.end(body);
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const cut = () => response.destroy();
      const reply = (status: number, headers: http.IncomingHttpHeaders, payload: Buffer) => {
        const { 'content-length': _l, 'transfer-encoding': _t, connection: _c, ...rest } = headers;
        response.writeHead(status, { ...rest, 'content-length': String(payload.length) });
        response.end(payload);
      };
      const isBulk = (request.method === 'POST' || request.method === 'PUT') && (request.url ?? '').split('?')[0]?.endsWith('_bulk') === true;
      if (!isBulk || !(faulty || lying || refusing) || request.headers['content-encoding']) return forward(request, body, reply, cut);
      stats.bulks += 1;
      const draw = refusing ? 0 : random();
      // a bulk let through now and then lets the sink's backoff reset and fresh batches arrive, so
      // a fault window refuses many items rather than the shrinking retries of one batch
      if (!lying && draw >= 0.75) return forward(request, body, reply, cut);
      if (!lying && draw < 0.25) {
        stats.whole503 += 1;
        const payload = Buffer.from(JSON.stringify({ error: { type: 'unavailable_shards_exception', reason: 'injected by the fault proxy' }, status: 503 }));
        return reply(503, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' }, payload);
      }
      const actions = actionsOf(body.toString('utf8'));
      const rejected = new Set<number>();
      for (let i = 0; i < actions.length; i++) if (random() < 0.5) rejected.add(i);
      if (rejected.size === 0 && actions.length > 0) rejected.add(Math.floor(random() * actions.length));
      const kept = actions.filter((_, i) => !rejected.has(i));
      stats.partial += 1;
      stats.itemsRejected += rejected.size;
      const synthesise = (items: Record<string, unknown>[], took: number, headers: http.IncomingHttpHeaders) => {
        let next = 0;
        const merged = actions.map((action, i) => (rejected.has(i) ? (lying ? acceptedItem(action) : rejectedItem(action)) : items[next++]));
        reply(200, { 'content-type': headers['content-type'] ?? 'application/json', ...(headers['x-elastic-product'] ? { 'x-elastic-product': headers['x-elastic-product'] } : {}) }, Buffer.from(JSON.stringify({ errors: merged.some((item) => Object.values(item ?? {}).some((r) => ((r as { status?: number }).status ?? 0) >= 300)), took, items: merged })));
      };
      if (kept.length === 0) return synthesise([], 0, { 'x-elastic-product': 'Elasticsearch' });
      const forwarded = Buffer.from(`${kept.map((a) => a.lines.join('\n')).join('\n')}\n`);
      forward(
        request,
        forwarded,
        (status, headers, payload) => {
          if (status !== 200) return reply(status, headers, payload);
          const parsed = JSON.parse(payload.toString('utf8')) as { took: number; items: Record<string, unknown>[] };
          synthesise(parsed.items, parsed.took, headers);
        },
        cut,
      );
    });
  });
  server.keepAliveTimeout = 5000;
  const listenOn = portRange() ? await freePort() : 0;
  await new Promise<void>((resolve) => server.listen(listenOn, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    setFaulty: (value) => (faulty = value),
    setLying: (value) => (lying = value),
    setRefusing: (value) => (refusing = value),
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
