import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for Kibana's GET /api/status and POST /api/saved_objects/_import: no Kibana can run on
 * this machine (no binary, no download, no Docker daemon). It records what Tally sends and answers
 * as the test tells it, shaped like Kibana's answers (see /work/shared/reference/kibana-import.md).
 * Kafka and Elasticsearch are never doubled.
 */
export interface KibanaRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface KibanaAnswer {
  status: number;
  body: unknown;
}

export interface KibanaDouble {
  url: string;
  received: KibanaRequest[];
  /** what GET /api/status answers: by default Kibana `version`, overall available */
  status: KibanaAnswer;
  /** what the import answers; by default every object of the posted file created */
  importAnswer: KibanaAnswer | undefined;
  close(): Promise<void>;
}

/** Kibana's status body (8.x, authenticated): the version under version.number. */
export const kibanaStatus = (version: string): KibanaAnswer => ({ status: 200, body: { name: 'kibana', version: { number: version, build_snapshot: false }, status: { overall: { level: 'available' } } } });

/** Every object of an NDJSON file created, as Kibana answers a clean import. */
function createdAll(ndjson: string): KibanaAnswer {
  const objects = ndjson
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { type: string; id: string; attributes: { title?: string } });
  return { status: 200, body: { success: true, successCount: objects.length, successResults: objects.map((o) => ({ type: o.type, id: o.id, meta: { title: o.attributes.title } })), warnings: [] } };
}

/** The file part of a multipart body (one part), as the import sends it. */
export function multipartFile(request: KibanaRequest): { name: string; filename: string; content: string } {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(request.headers['content-type'] ?? '');
  if (!boundary) throw new Error(`no multipart boundary in ${request.headers['content-type']}`);
  const parts = request.body.toString('utf8').split(`--${boundary[1] ?? boundary[2]}`).slice(1, -1);
  if (parts.length !== 1) throw new Error(`${parts.length} multipart parts, expected 1`);
  const [head, ...rest] = (parts[0] as string).replace(/^\r\n/, '').split('\r\n\r\n');
  const disposition = /name="([^"]+)"; filename="([^"]+)"/.exec(head ?? '');
  return { name: disposition?.[1] ?? '', filename: disposition?.[2] ?? '', content: rest.join('\r\n\r\n').replace(/\r\n$/, '') };
}

export async function startKibanaDouble(version = '8.9.0'): Promise<KibanaDouble> {
  const double: KibanaDouble = { url: '', received: [], status: kibanaStatus(version), importAnswer: undefined, close: async () => undefined };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received: KibanaRequest = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) };
      double.received.push(received);
      const path = received.url.replace(/^\/s\/[^/]+/, '').split('?')[0];
      const answer =
        path === '/api/status' && received.method === 'GET'
          ? double.status
          : path === '/api/saved_objects/_import' && received.method === 'POST'
            ? (double.importAnswer ?? createdAll(multipartFile(received).content))
            : { status: 404, body: { statusCode: 404, error: 'Not Found', message: 'Not Found' } };
      response.writeHead(answer.status, { 'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json' });
      response.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  double.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  double.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return double;
}
