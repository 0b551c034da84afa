import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { messageOf } from '../errors.js';
import { listen } from './listen.js';

export interface Readiness {
  ready: boolean;
  /** the JSON body of /readyz: why the stage is (not) ready */
  body: Record<string, unknown>;
}

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  registry: Registry;
  health: () => Record<string, unknown>;
  readiness: () => Readiness;
  /** brings pulled values (stage counters, stall gauges) up to date before a scrape */
  beforeScrape?: () => void;
}

export interface OpsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** GET /metrics (Prometheus text), /healthz (the process is up), /readyz (200, or 503 with the reasons). */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const reply = (request: IncomingMessage, response: ServerResponse, status: number, contentType: string, body: string): void => {
    response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
  const json = (request: IncomingMessage, response: ServerResponse, status: number, body: Record<string, unknown>): void => reply(request, response, status, 'application/json', `${JSON.stringify(body)}\n`);

  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://ops').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return json(request, response, 405, { error: 'use GET' });
    }
    switch (path) {
      case '/healthz':
        return json(request, response, 200, { status: 'up', ...options.health() });
      case '/readyz': {
        const readiness = options.readiness();
        return json(request, response, readiness.ready ? 200 : 503, readiness.body);
      }
      case '/metrics':
        try {
          options.beforeScrape?.();
        } catch (error) {
          return json(request, response, 500, { error: `updating metrics failed: ${messageOf(error)}` });
        }
        options.registry
          .metrics()
          .then((text) => reply(request, response, 200, options.registry.contentType, text))
          .catch((error: unknown) => json(request, response, 500, { error: `collecting metrics failed: ${messageOf(error)}` }));
        return;
      default:
        return json(request, response, 404, { error: `no ${path} here: GET /metrics, /healthz or /readyz` });
    }
  });
  server.keepAliveTimeout = 5_000;
  // the endpoints never keep a process alive on their own: a stage that failed to start must exit
  server.on('connection', (socket) => socket.unref());
  server.unref();
  await listen(server, options.port, options.host, 'ops');
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
