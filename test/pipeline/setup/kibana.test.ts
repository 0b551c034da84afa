import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isTallyError } from '../../../pipeline/errors.js';
import { importSavedObjects, parseNdjson, savedObjectsFile } from '../../../pipeline/setup/kibana.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Kibana cannot run here: a local server records what the import sends and answers as told. */
describe('importing saved objects into Kibana', () => {
  const received: Received[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  let server: Server;
  let url = '';
  before(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
        response.writeHead(answer.status, { 'content-type': 'application/json' });
        response.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function filePart(request: Received): { name: string; filename: string; contentType: string; content: string } {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(request.headers['content-type'] ?? '');
    assert.ok(boundary, `multipart boundary in ${request.headers['content-type']}`);
    const parts = request.body.toString('utf8').split(`--${boundary[1] ?? boundary[2]}`).slice(1, -1);
    assert.equal(parts.length, 1, 'one part');
    const [head, ...rest] = (parts[0] as string).replace(/^\r\n/, '').split('\r\n\r\n');
    const disposition = /name="([^"]+)"; filename="([^"]+)"/.exec(head ?? '');
    return { name: disposition?.[1] ?? '', filename: disposition?.[2] ?? '', contentType: /content-type: (.+)/i.exec(head ?? '')?.[1]?.trim() ?? '', content: rest.join('\r\n\r\n').replace(/\r\n$/, '') };
  }

  test('POST /api/saved_objects/_import?overwrite=true, multipart field "file" named *.ndjson, kbn-xsrf, the NDJSON as shipped', async () => {
    const file = savedObjectsFile('accounting', 'tally-');
    answer = { status: 200, body: { success: true, successCount: file.objects.length, successResults: file.objects.map((o) => ({ type: o.type, id: o.id, meta: { title: o.attributes.title } })) } };
    received.length = 0;
    const result = await importSavedObjects({ kibanaUrl: `${url}/`, ndjson: file.ndjson, fileName: file.fileName, headers: { authorization: 'Basic dGFsbHk6c2VjcmV0' } });
    assert.equal(result.successCount, file.objects.length);
    assert.deepEqual(result.imported.find((o) => o.type === 'dashboard'), { type: 'dashboard', id: 'tally-accounting-overview', title: 'Accounting overview' });
    const [request] = received;
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/api/saved_objects/_import?overwrite=true');
    assert.ok(request.headers['kbn-xsrf'], 'kbn-xsrf header');
    assert.equal(request.headers.authorization, 'Basic dGFsbHk6c2VjcmV0');
    assert.match(request.headers['content-type'] ?? '', /^multipart\/form-data; boundary=/);
    const part = filePart(request);
    assert.equal(part.name, 'file');
    assert.equal(part.filename, 'accounting.ndjson');
    assert.deepEqual(parseNdjson(part.content), parseNdjson(file.ndjson));
  });

  test('another index prefix: the data view points at it; a space goes in the path', async () => {
    const file = savedObjectsFile('accounting', 'acme-');
    const dataView = file.objects.find((o) => o.type === 'index-pattern');
    assert.equal(dataView?.attributes.title, 'acme-accounting-usage-*');
    answer = { status: 200, body: { success: true, successCount: 1, successResults: [] } };
    received.length = 0;
    await importSavedObjects({ kibanaUrl: url, ndjson: file.ndjson, fileName: file.fileName, space: 'ops' });
    assert.equal(received[0]?.url, '/s/ops/api/saved_objects/_import?overwrite=true');
    assert.match(filePart(received[0] as Received).content, /"title":"acme-accounting-usage-\*"/);
  });

  test('success: false is a failure naming each object and why; 5xx and unreachable are retriable', async () => {
    const file = savedObjectsFile('accounting', 'tally-');
    answer = { status: 200, body: { success: false, successCount: 0, errors: [{ type: 'lens', id: 'tally-accounting-top-users', error: { type: 'missing_references', references: [{ type: 'index-pattern', id: 'nope' }] } }] } };
    await assert.rejects(importSavedObjects({ kibanaUrl: url, ndjson: file.ndjson, fileName: file.fileName }), (error) => isTallyError(error, 'ES_PERMANENT') && /lens tally-accounting-top-users: missing_references \(index-pattern nope\)/.test(error.message));
    answer = { status: 503, body: 'Kibana server is not ready yet' };
    await assert.rejects(importSavedObjects({ kibanaUrl: url, ndjson: file.ndjson, fileName: file.fileName }), (error) => isTallyError(error, 'ES_RETRIABLE') && /503.*not ready/.test(error.message));
    answer = { status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'Invalid file extension .json' } };
    await assert.rejects(importSavedObjects({ kibanaUrl: url, ndjson: file.ndjson, fileName: 'x.json' }), (error) => isTallyError(error, 'ES_PERMANENT') && /Invalid file extension/.test(error.message));
    await assert.rejects(importSavedObjects({ kibanaUrl: 'http://127.0.0.1:1', ndjson: file.ndjson, fileName: file.fileName, timeoutMs: 2000 }), (error) => isTallyError(error, 'ES_RETRIABLE') && /unreachable/.test(error.message));
  });
});
