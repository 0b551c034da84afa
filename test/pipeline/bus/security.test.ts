import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkajsSecurity, rdkafkaSecurity } from '../../../pipeline/bus/security.js';
import { loadConfig } from '../../../pipeline/config/load.js';
import { makeCertificates, opensslAvailable, type TestCertificates } from '../../support/certs.js';
import { encryptKey } from '../../support/secure/certs.js';

/** kafka.ssl and kafka.sasl reach both backends as the same settings. */
describe('the Kafka security mapping', { skip: opensslAvailable() ? false : 'needs the openssl CLI to make certificates' }, () => {
  let certs: TestCertificates;
  let encryptedKey: string;
  let passphraseFile: string;
  before(() => {
    certs = makeCertificates();
    encryptedKey = encryptKey(certs.clientKey, 'key passphrase');
    passphraseFile = path.join(certs.dir, 'key-passphrase');
    writeFileSync(passphraseFile, 'key passphrase\n');
  });
  after(() => certs?.remove());

  const kafka = (sets: string[]) => loadConfig({ env: {}, sets }).kafka;

  test('client certificate with an encrypted key and SASL PLAIN over TLS', () => {
    const config = kafka([`kafka.ssl.caFile=${certs.ca}`, `kafka.ssl.certFile=${certs.clientCert}`, `kafka.ssl.keyFile=${encryptedKey}`, `kafka.ssl.keyPasswordFile=${passphraseFile}`, 'kafka.sasl.mechanism=plain', 'kafka.sasl.username=tally', 'kafka.sasl.password=secret']);
    assert.deepEqual(kafkajsSecurity(config), {
      ssl: { rejectUnauthorized: true, ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(encryptedKey), passphrase: 'key passphrase' },
      sasl: { mechanism: 'plain', username: 'tally', password: 'secret' },
    });
    assert.deepEqual(rdkafkaSecurity(config), {
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'PLAIN',
      'sasl.username': 'tally',
      'sasl.password': 'secret',
      'ssl.ca.location': certs.ca,
      'ssl.certificate.location': certs.clientCert,
      'ssl.key.location': encryptedKey,
      'ssl.key.password': 'key passphrase',
      'enable.ssl.certificate.verification': true,
    });
  });

  test('client certificate alone is the ssl protocol; SASL alone is sasl_plaintext; a section that says enabled: false is plaintext', () => {
    const mtls = kafka([`kafka.ssl.certFile=${certs.clientCert}`, `kafka.ssl.keyFile=${certs.clientKey}`]);
    assert.equal(rdkafkaSecurity(mtls)['security.protocol'], 'ssl');
    assert.equal(rdkafkaSecurity(mtls)['ssl.key.password'], undefined);
    assert.deepEqual(kafkajsSecurity(mtls).ssl && Object.keys(kafkajsSecurity(mtls).ssl as object).sort(), ['ca', 'cert', 'key', 'rejectUnauthorized']);

    const sasl = kafka(['kafka.sasl.mechanism=scram-sha-256', 'kafka.sasl.username=tally', 'kafka.sasl.password=secret']);
    assert.equal(rdkafkaSecurity(sasl)['security.protocol'], 'sasl_plaintext');
    assert.equal(kafkajsSecurity(sasl).ssl, undefined);

    const off = kafka(['kafka.ssl.enabled=false', `kafka.ssl.certFile=${certs.clientCert}`, `kafka.ssl.keyFile=${encryptedKey}`]);
    assert.deepEqual(rdkafkaSecurity(off), {});
    assert.deepEqual(kafkajsSecurity(off), {});
  });
});
