import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveBeatsConfig } from '../../../../connectors/sources/beats/config.js';
import { tlsServerOptions } from '../../../../connectors/sources/beats/tls.js';
import { isTallyError } from '../../../../pipeline/errors.js';

const invalid = (input: unknown, pattern: RegExp): void => {
  assert.throws(() => resolveBeatsConfig(input), (error: unknown) => {
    assert.ok(isTallyError(error, 'CONFIG_INVALID'));
    assert.match(error.message, pattern);
    return true;
  });
};

describe('beats configuration', () => {
  test('defaults: Filebeat port, accounting, go-lumber window limit, Logstash timeouts', () => {
    const config = resolveBeatsConfig({});
    assert.equal(config.port, 5044);
    assert.equal(config.kind, 'accounting');
    assert.equal(config.maxWindowSize, 10_000);
    assert.equal(config.keepaliveMs, 5000);
    assert.equal(config.idleTimeoutMs, 60_000);
    assert.equal(config.windowTimeoutMs, 30_000);
    assert.equal(config.tls, undefined);
    assert.equal(resolveBeatsConfig({ tls: { certFile: 'c', keyFile: 'k' } }).tls?.clientCertificates, 'none');
  });

  test('errors name the key and the rule', () => {
    invalid({ port: 70000 }, /beats\.port: must be <= 65535 \(rule: maximum\)/);
    invalid({ nope: 1 }, /beats\.nope: unknown key/);
    invalid({ keepaliveMs: 30_000 }, /beats\.keepaliveMs: must be <= 25000/);
    invalid({ tls: { certFile: 'c', keyFile: 'k', clientCertificates: 'sometimes' } }, /beats\.tls\.clientCertificates: must be one of "none", "optional", "required"/);
    invalid({ tls: { certFile: 'c' } }, /beats\.tls\.keyFile: is required/);
  });

  test('client certificates need CAs, and CAs need client certificates (as Logstash refuses both)', () => {
    invalid({ tls: { certFile: 'c', keyFile: 'k', clientCertificates: 'required' } }, /beats\.tls\.caFiles: client certificates "required" need at least one CA/);
    invalid({ tls: { certFile: 'c', keyFile: 'k', caFiles: ['ca.pem'] } }, /beats\.tls\.clientCertificates: CAs are given but client certificates are "none"/);
  });

  test('an unreadable certificate file is a configuration error naming the key', () => {
    const tls = resolveBeatsConfig({ tls: { certFile: '/nonexistent/cert.pem', keyFile: 'k' } }).tls;
    assert.ok(tls);
    assert.throws(() => tlsServerOptions(tls), /beats\.tls\.certFile: cannot read \/nonexistent\/cert\.pem/);
  });
});
