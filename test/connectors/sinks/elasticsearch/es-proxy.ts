import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny HTTP proxy in front of the real Elasticsearch that misbehaves on purpose:
 * - unavailable: every request answers 503, nothing reaches Elasticsearch;
 * - partial: a _bulk forwards only every other document; the others answer 429 (or 503) per item,
 *   as an overloaded node does, so they are really not written;
 * - pass: everything is forwarded;
 * and `bulkDelayMs(body)` holds a _bulk request back that long before forwarding it.
 * It records which ids Elasticsearch acknowledged, to check nothing is committed before that.
 */
export type ProxyMode = 'unavailable' | 'partial' | 'pass';

export interface EsProxy {
  url: string;
  port: number;
  mode: ProxyMode;
  /** partial bulk requests to answer before switching to pass by itself */
  partialRequests: number;
  bulkRequests: number;
  /** ids Elasticsearch answered 2xx for, through this proxy */
  acknowledged: Set<string>;
  /** items answered 429/503 without reaching Elasticsearch */
  heldBack: number;
  /** how long to hold a _bulk request (by its body) before forwarding it; 0 by default */
  bulkDelayMs: (body: string) => number;
  close(): Promise<void>;
}

export async function startEsProxy(target: string, port = 0, mode: ProxyMode = 'pass'): Promise<EsProxy> {
  const state = { mode, partialRequests: 2, bulkRequests: 0, acknowledged: new Set<string>(), heldBack: 0, bulkDelayMs: (_body: string) => 0 };
  const server: Server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { type: 'proxy_error', reason: String(error) } }));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await read(request);
    const isBulk = /\/_bulk(\?|$)/.test(request.url ?? '');
    if (isBulk) {
      state.bulkRequests += 1;
      const delay = state.bulkDelayMs(body.toString('utf8'));
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
    if (proxy.mode === 'unavailable') {
      answer(response, 503, { error: { type: 'unavailable_shards_exception', reason: 'test proxy: unavailable' }, status: 503 });
      return;
    }
    if (!isBulk || proxy.mode === 'pass') {
      const forwarded = await forward(request, body);
      if (isBulk) acknowledge(JSON.parse(forwarded.text) as BulkResponse, actionLines(body));
      response.writeHead(forwarded.status, forwarded.headers);
      response.end(forwarded.text);
      return;
    }
    const lines = body.toString('utf8').split('\n').filter((l) => l.length > 0);
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) pairs.push([lines[i] as string, lines[i + 1] as string]);
    const sent = pairs.filter((_, i) => i % 2 === 0);
    const forwarded = await forward(request, Buffer.from(sent.map((p) => `${p[0]}\n${p[1]}\n`).join('')));
    const upstream = JSON.parse(forwarded.text) as BulkResponse;
    acknowledge(upstream, sent.map((p) => p[0]));
    const itemStatus = proxy.partialRequests % 2 === 0 ? 429 : 503;
    const items = pairs.map(([action], i) => {
      if (i % 2 === 0) return upstream.items[i / 2];
      state.heldBack += 1;
      const [operation, meta] = Object.entries(JSON.parse(action) as Record<string, { _index: string; _id: string }>)[0] as [string, { _index: string; _id: string }];
      const error = itemStatus === 429 ? { type: 'es_rejected_execution_exception', reason: 'test proxy: rejected execution' } : { type: 'unavailable_shards_exception', reason: 'test proxy: primary shard is not active' };
      return { [operation]: { _index: meta._index, _id: meta._id, status: itemStatus, error } };
    });
    proxy.partialRequests -= 1;
    if (proxy.partialRequests <= 0) proxy.mode = 'pass';
    answer(response, 200, { took: upstream.took, errors: true, items });
  }

  async function forward(request: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string>; text: string }> {
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'accept', 'authorization']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const upstream = await fetch(new URL(request.url ?? '/', target), { method: request.method ?? 'GET', headers, ...(body.length && request.method !== 'GET' ? { body } : {}) });
    const text = await upstream.text();
    return { status: upstream.status, headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json', 'x-elastic-product': 'Elasticsearch' }, text };
  }

  /** items answer the actions in order; the ids come from the actions (the sink filters _id out of the response) */
  function acknowledge(bulk: BulkResponse, actions: string[]): void {
    for (const [i, item] of (bulk.items ?? []).entries()) {
      const result = Object.values(item)[0];
      const action = actions[i];
      const id = action === undefined ? undefined : Object.values(JSON.parse(action) as Record<string, { _id?: string }>)[0]?._id;
      if (result && result.status >= 200 && result.status < 300 && id !== undefined) state.acknowledged.add(id);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;
  const proxy: EsProxy = {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    get mode() {
      return state.mode;
    },
    set mode(value: ProxyMode) {
      state.mode = value;
    },
    get partialRequests() {
      return state.partialRequests;
    },
    set partialRequests(value: number) {
      state.partialRequests = value;
    },
    get bulkRequests() {
      return state.bulkRequests;
    },
    acknowledged: state.acknowledged,
    get heldBack() {
      return state.heldBack;
    },
    get bulkDelayMs() {
      return state.bulkDelayMs;
    },
    set bulkDelayMs(value: (body: string) => number) {
      state.bulkDelayMs = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

interface BulkResponse {
  took: number;
  errors: boolean;
  items: Record<string, { _index?: string; _id?: string; status: number }>[];
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
  response.end(JSON.stringify(body));
}

/** The action lines of a _bulk body of index/create pairs. */
function actionLines(body: Buffer): string[] {
  const lines = body.toString('utf8').split('\n').filter((l) => l.length > 0);
  return lines.filter((_, i) => i % 2 === 0);
}

function read(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** A port nothing listens on (connection refused), which the proxy can later take. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
