import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { encodeWindow } from '../../../../connectors/sources/beats/protocol.js';
import { startBeatsServer, type BeatsServer } from '../../../../connectors/sources/beats/server.js';
import type { Admin, Bus, Producer } from '../../../../pipeline/bus/types.js';
import { makeCertificates, opensslAvailable, type TestCertificates } from '../../../support/certs.js';
import { isolatedBus } from '../../../support/isolated-bus.js';
import { capturedLog, TestClient } from './support.js';

type Outcome = 'acked' | 'refused';

/** Connect, send one window, and say whether it was acknowledged or the server refused the client. */
async function attempt(port: number, options: ConnectionOptions): Promise<Outcome> {
  let client: TestClient;
  try {
    client = await TestClient.connect(port, options);
  } catch {
    return 'refused';
  }
  client.send(encodeWindow(['{"message":"over TLS"}'], { compressionLevel: 3 }));
  const outcome = await Promise.race([client.waitForAcks(1, 5000).then(() => 'acked' as const, () => 'refused' as const), client.closed.then(() => 'refused' as const)]);
  client.close();
  return client.positiveAcks.length === 1 ? 'acked' : outcome;
}

const skip = opensslAvailable() ? false : 'the openssl CLI is not installed';

describe('tally beats over TLS with client certificates (real Kafka)', { timeout: 180_000, skip }, () => {
  let certs: TestCertificates;
  let bus: Bus;
  let admin: Admin;
  let producer: Producer;
  const clients: Record<string, ConnectionOptions> = {};

  before(async () => {
    certs = makeCertificates();
    ({ bus, admin } = await isolatedBus('kafkajs', { partitions: 2 }));
    producer = await bus.producer();
    const trustServer = { ca: readFileSync(certs.ca) };
    clients.none = { ...trustServer };
    clients.trusted = { ...trustServer, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) };
    clients.otherCa = { ...trustServer, cert: readFileSync(certs.otherClientCert), key: readFileSync(certs.otherClientKey) };
    clients.expired = { ...trustServer, cert: readFileSync(certs.expiredClientCert), key: readFileSync(certs.expiredClientKey) };
  });
  after(async () => {
    await producer.close();
    await admin.close();
    certs.remove();
  });

  const start = async (clientCertificates: 'none' | 'optional' | 'required', log = capturedLog().log): Promise<BeatsServer> =>
    startBeatsServer({
      config: { host: '127.0.0.1', port: 0, tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFiles: clientCertificates === 'none' ? [] : [certs.ca], clientCertificates } },
      bus,
      log,
      producer,
    });

  const outcomes = async (server: BeatsServer): Promise<Record<string, Outcome>> => {
    const result: Record<string, Outcome> = {};
    for (const [name, options] of Object.entries(clients)) result[name] = await attempt(server.port, options);
    return result;
  };

  test('required: only a client with a valid certificate from the CA list is served', async () => {
    const { log, lines } = capturedLog();
    const server = await start('required', log);
    try {
      assert.deepEqual(await outcomes(server), { none: 'refused', trusted: 'acked', otherCa: 'refused', expired: 'refused' });
      assert.equal(server.stats().tlsRefused, 3);
      assert.equal(server.stats().events, 1);
      const reasons = lines.filter((l) => String(l.msg).startsWith('refusing beats client')).map((l) => String(l.reason));
      assert.equal(reasons.length, 3, reasons.join(' | '));
      assert.ok(reasons.some((r) => /peer did not return a certificate/.test(r)), reasons.join(' | '));
      assert.ok(reasons.some((r) => /client certificate not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE/.test(r)), reasons.join(' | '));
      assert.ok(reasons.some((r) => /client certificate not trusted: CERT_HAS_EXPIRED/.test(r)), reasons.join(' | '));
      // a client reset after a failed verification has no address left on its TLS socket: the one it connected from is logged
      const clients = lines.filter((l) => String(l.msg).startsWith('refusing beats client')).map((l) => String(l.client));
      for (const client of clients) assert.match(client, /^127\.0\.0\.1:\d+$/);
    } finally {
      await server.close();
    }
  });

  test('optional: a client without a certificate is served, one with an untrusted or expired certificate is not', async () => {
    const { log, lines } = capturedLog();
    const server = await start('optional', log);
    try {
      assert.deepEqual(await outcomes(server), { none: 'acked', trusted: 'acked', otherCa: 'refused', expired: 'refused' });
      assert.equal(server.stats().tlsRefused, 2);
      const reasons = lines.filter((l) => String(l.msg).startsWith('refusing beats client')).map((l) => String(l.reason));
      assert.deepEqual(reasons.sort(), ['client certificate not trusted: CERT_HAS_EXPIRED', 'client certificate not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
    } finally {
      await server.close();
    }
  });

  test('none: no client certificate is asked for', async () => {
    const server = await start('none');
    try {
      const result = await outcomes(server);
      assert.equal(result.none, 'acked');
      assert.equal(result.trusted, 'acked');
    } finally {
      await server.close();
    }
  });

  test('a plain TCP client talking lumberjack to the TLS port is refused, the server goes on', async () => {
    const server = await start('required');
    try {
      const plain = await TestClient.connect(server.port);
      plain.send(encodeWindow(['{"message":"plaintext"}']));
      assert.equal(await plain.closedWithin(5000), true);
      assert.deepEqual(plain.positiveAcks, []);
      assert.equal(await attempt(server.port, clients.trusted as ConnectionOptions), 'acked');
    } finally {
      await server.close();
    }
  });
});
