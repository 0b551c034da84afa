import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestCa {
  /** the CA certificate (PEM) clients are told to trust */
  caFile: string;
  caKeyFile: string;
}

export interface ServerCertificate {
  certFile: string;
  /** unencrypted PKCS#8 key */
  keyFile: string;
  /** key then certificate chain in one file: Kafka's PEM keystore */
  keystoreFile: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A throw-away certificate authority, made for one test run. */
export function createCa(dir: string, name: string): TestCa {
  const caFile = path.join(dir, `${name}.pem`);
  const caKeyFile = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKeyFile, '-out', caFile, '-days', '2', '-subj', `/CN=${name}`], dir);
  return { caFile, caKeyFile };
}

/** A server certificate for 127.0.0.1 and localhost, signed by `ca`. */
export function createServerCertificate(dir: string, name: string, ca: TestCa): ServerCertificate {
  const keyFile = path.join(dir, `${name}.key`);
  const csrFile = path.join(dir, `${name}.csr`);
  const certFile = path.join(dir, `${name}.pem`);
  const extFile = path.join(dir, `${name}.ext`);
  writeFileSync(extFile, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', '/CN=localhost'], dir);
  openssl(['x509', '-req', '-in', csrFile, '-CA', ca.caFile, '-CAkey', ca.caKeyFile, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', extFile], dir);
  const keystoreFile = path.join(dir, `${name}-keystore.pem`);
  writeFileSync(keystoreFile, `${readFileSync(keyFile, 'utf8')}${readFileSync(certFile, 'utf8')}${readFileSync(ca.caFile, 'utf8')}`);
  return { certFile, keyFile, keystoreFile };
}

/** `keyFile` encrypted under `password` (PKCS#8, AES-256-CBC) beside it; the password never goes on a command line. */
export function encryptKey(keyFile: string, password: string): string {
  const out = keyFile.replace(/(\.key)?$/, '-encrypted.key');
  execFileSync('openssl', ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', keyFile, '-out', out, '-passout', 'env:TALLY_TEST_KEY_PASSWORD'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TALLY_TEST_KEY_PASSWORD: password },
  });
  return out;
}
