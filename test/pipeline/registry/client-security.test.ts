import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { isTallyError } from '../../../pipeline/errors.js';
import { RegistryClient } from '../../../pipeline/registry/client.js';
import { registryApplies } from '../../../pipeline/registry/in-use.js';
import { makeCertificates, opensslAvailable, type TestCertificates } from '../../support/certs.js';
import { testConfig } from '../../support/world.js';

/**
 * The registry client over TLS with basic auth, as production registries run: the real local
 * registry behind an HTTPS front that checks a user and password (Apicurio itself only does OIDC),
 * the way a reverse proxy in front of Confluent's or Karapace's does.
 */
describe('registry client: TLS with a CA file, basic auth from a password file', { timeout: 60_000, skip: !registryApplies(testConfig()) ? 'no schema registry in this test world' : !opensslAvailable() ? 'no openssl' : false }, () => {
  const registry = new URL(testConfig().registry.url);
  let certs: TestCertificates;
  let front: https.Server;
  let base: string;

  before(async () => {
    certs = makeCertificates();
    front = https.createServer({ cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) }, (request, response) => {
      if (request.headers.authorization !== `Basic ${Buffer.from('tally:s3cret').toString('base64')}`) {
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"error_code":40101,"message":"Unauthorized"}');
        return;
      }
      const upstream = http.request({ host: registry.hostname, port: registry.port, path: request.url, method: request.method, headers: { ...request.headers, host: registry.host } }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      upstream.on('error', (error) => response.writeHead(502).end(error.message));
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(front.address() as AddressInfo).port}${registry.pathname}`;
  });

  after(async () => {
    await new Promise((resolve) => front?.close(resolve));
    certs?.remove();
  });

  test('with the CA file and the password from a file, the client registers and reads back by id', async () => {
    const passwordFile = path.join(certs.dir, 'registry-password');
    writeFileSync(passwordFile, 's3cret\n');
    const client = new RegistryClient({ url: base, username: 'tally', passwordFile, caFile: certs.ca });
    const schema = JSON.stringify({ type: 'record', name: 'Probe', namespace: 'tally.test', fields: [{ name: 'id', type: 'string' }] });
    const id = await client.register(`security-probe-${Date.now()}-value`, schema);
    assert.equal(JSON.parse(await client.schemaById(id)).name, 'Probe');
  });

  test('a wrong password is REGISTRY_AUTH naming the URL; an untrusted certificate is REGISTRY_TLS naming registry.caFile', async () => {
    const wrong = await new RegistryClient({ url: base, username: 'tally', password: 'nope', caFile: certs.ca }).schemaById(1).catch((error: unknown) => error);
    assert.ok(isTallyError(wrong, 'REGISTRY_AUTH'), String(wrong));
    assert.match(wrong.message, new RegExp(base.replace(/[.?*+^$[\]\\(){}|-]/g, '\\$&')));
    assert.doesNotMatch(wrong.message, /nope/, 'never the password');
    const untrusted = await new RegistryClient({ url: base, username: 'tally', password: 's3cret', caFile: certs.otherCa }).schemaById(1).catch((error: unknown) => error);
    assert.ok(isTallyError(untrusted, 'REGISTRY_TLS'), String(untrusted));
    assert.match(untrusted.message, /registry\.caFile .* is not the CA that signed it/);
    const unreachable = await new RegistryClient({ url: 'http://127.0.0.1:1/apis/ccompat/v7' }).schemaById(1).catch((error: unknown) => error);
    assert.ok(isTallyError(unreachable, 'REGISTRY_UNREACHABLE') && unreachable.retriable, String(unreachable));
  });
});
