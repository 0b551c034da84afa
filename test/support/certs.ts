import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Certificates made for one test run with the openssl CLI: two unrelated CAs, a server
 * certificate for 127.0.0.1, a client certificate from each CA, and an expired client certificate
 * from the first. EC P-256 keys keep it fast.
 */
export interface TestCertificates {
  dir: string;
  ca: string;
  otherCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherClientCert: string;
  otherClientKey: string;
  expiredClientCert: string;
  expiredClientKey: string;
  remove(): void;
}

export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tally-test-certs-'));
  const at = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string, cn: string): void => openssl('req', '-x509', ...key, '-keyout', at(`${name}.key`), '-out', at(`${name}.pem`), '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name: string, caName: string, cn: string, extensions: string): void => {
    openssl('req', ...key, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(at(`${name}.ext`), extensions);
    openssl('x509', '-req', '-in', at(`${name}.csr`), '-CA', at(`${caName}.pem`), '-CAkey', at(`${caName}.key`), '-CAcreateserial', '-out', at(`${name}.pem`), '-days', '2', '-extfile', at(`${name}.ext`));
  };
  ca('ca', 'Tally Test CA');
  ca('other-ca', 'Some Other CA');
  leaf('server', 'ca', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'ca', 'filebeat-sp-01', 'extendedKeyUsage=clientAuth\n');
  leaf('other-client', 'other-ca', 'filebeat-intruder', 'extendedKeyUsage=clientAuth\n');

  // an expired certificate needs dates in the past: `openssl ca` sets them
  openssl('req', ...key, '-keyout', at('expired.key'), '-out', at('expired.csr'), '-subj', '/CN=filebeat-expired');
  mkdirSync(at('db'));
  writeFileSync(at('db/index.txt'), '');
  writeFileSync(at('db/serial'), '01\n');
  writeFileSync(
    at('ca.cnf'),
    ['[ca]', 'default_ca = test', '[test]', 'database = db/index.txt', 'serial = db/serial', 'new_certs_dir = db', 'default_md = sha256', 'policy = any', 'x509_extensions = client', '[any]', 'commonName = supplied', '[client]', 'extendedKeyUsage = clientAuth', ''].join('\n'),
  );
  openssl('ca', '-batch', '-config', at('ca.cnf'), '-cert', at('ca.pem'), '-keyfile', at('ca.key'), '-in', at('expired.csr'), '-out', at('expired.pem'), '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-notext');

  return {
    dir,
    ca: at('ca.pem'),
    otherCa: at('other-ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    otherClientCert: at('other-client.pem'),
    otherClientKey: at('other-client.key'),
    expiredClientCert: at('expired.pem'),
    expiredClientKey: at('expired.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
