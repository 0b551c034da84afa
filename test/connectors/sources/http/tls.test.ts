import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { bearerToken, defaultHttpSourceConfig, type HttpSourceConfig } from '../../../../connectors/sources/http/config.js';
import { startHttpSource, type HttpSource } from '../../../../connectors/sources/http/server.js';
import type { Bus } from '../../../../pipeline/bus/types.js';
import { TallyError } from '../../../../pipeline/errors.js';
import { makeCertificates, opensslAvailable, type TestCertificates } from '../../../support/certs.js';
import { testBus, uniqueName } from '../../../support/world.js';
import { capturedLog } from '../beats/support.js';

type Outcome = { status: number } | 'refused';

/** One POST over TLS with the given client identity: its status, or 'refused' when the server would not talk. */
function post(port: number, client: ConnectionOptions, headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const request = https.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, servername: 'localhost', headers: { 'content-type': 'application/json', ...headers }, ...client }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
    });
    request.on('error', () => resolve('refused'));
    request.setTimeout(10_000, () => request.destroy());
    request.end('{"level":"accounting","userid":"tls"}');
  });
}

const skip = opensslAvailable() ? false : 'the openssl CLI is not installed';


describe('tally http over TLS with client certificates (real Kafka)', { timeout: 120_000, skip }, () => {
  let certs: TestCertificates;
  let bus: Bus;
  const clients: Record<string, ConnectionOptions> = {};

  before(async () => {
    certs = makeCertificates();
    bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('http-tls')}.`]);
    const admin = await bus.admin();
    await admin.createTopics([{ topic: bus.topic('raw.accounting') }]);
    await admin.close();
    const trustServer = { ca: readFileSync(certs.ca) };
    clients.none = { ...trustServer };
    clients.trusted = { ...trustServer, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) };
    clients.otherCa = { ...trustServer, cert: readFileSync(certs.otherClientCert), key: readFileSync(certs.otherClientKey) };
    clients.expired = { ...trustServer, cert: readFileSync(certs.expiredClientCert), key: readFileSync(certs.expiredClientKey) };
  });
  after(() => certs.remove());

  const start = (clientCertificates: 'none' | 'optional' | 'required', log = capturedLog().log): Promise<HttpSource> =>
    startHttpSource({ ...defaultHttpSourceConfig, port: 0, tls: { certFile: certs.serverCert, keyFile: certs.serverKey, ...(clientCertificates === 'none' ? {} : { caFile: certs.ca }), clientCertificates } }, { bus, log });

  const outcomes = async (source: HttpSource): Promise<Record<string, number | 'refused'>> => {
    const result: Record<string, number | 'refused'> = {};
    for (const [name, options] of Object.entries(clients)) {
      const outcome = await post(source.port, options);
      result[name] = outcome === 'refused' ? outcome : outcome.status;
    }
    return result;
  };

  const refusals = (lines: Record<string, unknown>[]): string[] => lines.filter((l) => String(l.msg).startsWith('refusing http client')).map((l) => String(l.reason));

  test('required: no certificate, another CA\'s and an expired one are refused, each with its reason logged', async () => {
    const { log, lines } = capturedLog();
    const source = await start('required', log);
    try {
      assert.deepEqual(await outcomes(source), { none: 'refused', trusted: 200, otherCa: 'refused', expired: 'refused' });
      assert.equal(source.stats().tlsRefused, 3);
      const reasons = refusals(lines);
      assert.ok(reasons.some((r) => /peer did not return a certificate/.test(r)), reasons.join(' | '));
      assert.ok(reasons.some((r) => /client certificate not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE/.test(r)), reasons.join(' | '));
      assert.ok(reasons.some((r) => /client certificate not trusted: CERT_HAS_EXPIRED/.test(r)), reasons.join(' | '));
      const clients = lines.filter((l) => String(l.msg).startsWith('refusing http client')).map((l) => String(l.client));
      for (const client of clients) assert.match(client, /^127\.0\.0\.1:\d+$/, 'the address it connected from, also once the socket is gone');
    } finally {
      await source.close();
    }
  });

  test('optional: a client without a certificate is served; another CA\'s or an expired one is refused', async () => {
    const { log, lines } = capturedLog();
    const source = await start('optional', log);
    try {
      assert.deepEqual(await outcomes(source), { none: 200, trusted: 200, otherCa: 'refused', expired: 'refused' });
      assert.equal(source.stats().accepted, 2, 'a refused client\'s request never reaches Kafka');
      assert.deepEqual(refusals(lines).sort(), ['client certificate not trusted: CERT_HAS_EXPIRED', 'client certificate not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
    } finally {
      await source.close();
    }
  });

  test('none: no client certificate is asked for', async () => {
    const source = await start('none');
    try {
      const result = await outcomes(source);
      assert.equal(result.none, 200);
      assert.equal(result.trusted, 200);
    } finally {
      await source.close();
    }
  });
});

describe('tally http: bearer tokens and slow clients', { timeout: 120_000 }, () => {
  const secret = `tok-${uniqueName('s')}`;
  let bus: Bus;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hostile-http-token-'));
    bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('http-sec')}.`]);
    const admin = await bus.admin();
    await admin.createTopics([{ topic: bus.topic('raw.accounting') }]);
    await admin.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the token is read from a file or the environment; an empty one is refused without echoing anything', () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, `${secret}\n`);
    assert.equal(bearerToken({ bearerTokenFile: file }), secret);
    assert.equal(bearerToken({}, { TALLY_HTTP_TOKEN: secret }), secret);
    assert.equal(bearerToken({}, {}), undefined);
    writeFileSync(file, '  \n');
    assert.throws(() => bearerToken({ bearerTokenFile: file }), (e: unknown) => e instanceof TallyError && e.code === 'CONFIG_INVALID' && /empty/.test(e.message));
    assert.throws(() => bearerToken({}, { TALLY_HTTP_TOKEN: '' }), (e: unknown) => e instanceof TallyError && e.code === 'CONFIG_INVALID');
    rmSync(file);
    assert.throws(() => bearerToken({ bearerTokenFile: file }), (e: unknown) => e instanceof TallyError && /cannot read the token file \(ENOENT\)/.test(e.message));
  });

  test('wrong tokens of any length are refused alike; the token never reaches a log line or a response', async () => {
    const { log, lines } = capturedLog();
    const file = path.join(dir, 'token2');
    writeFileSync(file, secret);
    const source = await startHttpSource({ ...defaultHttpSourceConfig, port: 0, bearerTokenFile: file }, { bus, log });
    try {
      const bodies: string[] = [];
      const send = async (authorization: string | undefined): Promise<number> => {
        const response = await fetch(`${source.url}/`, { method: 'POST', body: '{"level":"accounting"}', headers: authorization === undefined ? {} : { authorization } });
        bodies.push(await response.text());
        return response.status;
      };
      for (const wrong of [undefined, '', 'Bearer', 'Bearer x', `Bearer ${secret.slice(0, -1)}`, `Bearer ${secret}x`, `Basic ${secret}`, `Bearer ${'y'.repeat(4000)}`]) assert.equal(await send(wrong), 401, String(wrong));
      assert.equal(await send(`Bearer ${secret}`), 200);
      assert.equal(await send(`bearer ${secret}`), 200, 'the scheme is case-insensitive');
      const everything = JSON.stringify(lines) + bodies.join('');
      assert.ok(!everything.includes(secret), 'the token appears in a log line or a response body');
      assert.ok(!everything.includes(secret.slice(0, -1)), 'a near-miss token appears in a log line or a response body');
    } finally {
      await source.close();
    }
  });

  const slowSource = (log: ReturnType<typeof capturedLog>['log'], overrides: Partial<HttpSourceConfig> = {}) =>
    startHttpSource({ ...defaultHttpSourceConfig, port: 0, headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300, ...overrides }, { bus, log });

  /** A client that opens a connection and then sends one byte at a time, far apart; resolves with what it heard when the server closes. */
  const dribble = (port: number, bytes: string, everyMs: number): Promise<{ heard: string; sent: number }> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let heard = '';
      let sent = 0;
      const timer = setInterval(() => {
        if (sent < bytes.length && socket.writable) socket.write(bytes[sent++] as string);
      }, everyMs);
      socket.on('data', (chunk: Buffer) => (heard += chunk.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ heard, sent });
      });
      setTimeout(() => socket.destroy(), 20_000).unref();
    });

  test('a client sending its headers one byte at a time is cut off after headersTimeoutMs, with the reason logged', async () => {
    const { log, lines } = capturedLog();
    const source = await slowSource(log);
    try {
      const { heard, sent } = await dribble(source.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}', 100);
      assert.ok(sent < 40, `the server waited for ${sent} bytes`);
      assert.match(heard, /^HTTP\/1\.1 408/);
      assert.ok(lines.some((l) => String(l.msg).startsWith('closing http connection') && /did not arrive in time/.test(String(l.reason))), JSON.stringify(lines.map((l) => l.msg)));
      assert.equal(source.stats().clientErrors, 1);
      assert.equal((await fetch(`${source.url}/`, { method: 'POST', body: '{"a":1}' })).status, 200, 'the server still serves others');
    } finally {
      await source.close();
    }
  });

  test('a body trickling in slower than requestTimeoutMs is cut off too', async () => {
    const { log } = capturedLog();
    const source = await slowSource(log, { headersTimeoutMs: 5000, requestTimeoutMs: 500 });
    try {
      const body = JSON.stringify({ level: 'accounting', pad: 'z'.repeat(200) });
      const socket = connect(source.port, '127.0.0.1');
      const closed = new Promise<string>((resolve) => {
        let heardSlow = '';
        socket.on('data', (chunk: Buffer) => (heardSlow += chunk.toString()));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(heardSlow));
      });
      socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
      let i = 0;
      const timer = setInterval(() => socket.writable && i < body.length && socket.write(body[i++] as string), 100);
      const guard = setTimeout(() => socket.destroy(), 15_000);
      const answer = await closed;
      clearTimeout(guard);
      clearInterval(timer);
      assert.ok(i < body.length, 'the whole body got through');
      assert.match(answer, /^HTTP\/1\.1 408/);
    } finally {
      await source.close();
    }
  });
});
