import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../pipeline/config/load.js';
import { TallyError } from '../../../pipeline/errors.js';

function yamlFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'tally-config-')), 'tally.yaml');
  writeFileSync(file, text);
  return file;
}

function configError(fn: () => unknown): TallyError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TallyError, `expected a TallyError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the configuration to be rejected');
}

test('embedded defaults are a valid configuration', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.kafka.backend, 'kafkajs');
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:19092']);
  assert.equal(config.elasticsearch.url, 'http://127.0.0.1:19200');
  assert.equal(config.services.kafka.version, '4.1.2');
  assert.equal(config.services.elasticsearch.version, '8.19.21');
});

test('a YAML file is read and merged over the defaults', () => {
  const file = yamlFile('kafka:\n  backend: rdkafka\n  topicPrefix: site-a.\nlog:\n  level: debug\n');
  const config = loadConfig({ file, env: {} });
  assert.equal(config.kafka.backend, 'rdkafka');
  assert.equal(config.kafka.topicPrefix, 'site-a.');
  assert.equal(config.kafka.clientId, 'tally', 'untouched keys keep their defaults');
  assert.equal(config.log.level, 'debug');
});

test('an invalid value names the key and the rule', () => {
  const error = configError(() => loadConfig({ file: yamlFile('kafka:\n  backend: librdkafka\n'), env: {} }));
  assert.equal(error.code, 'CONFIG_INVALID');
  assert.match(error.message, /kafka\.backend: must be one of "kafkajs", "rdkafka" \(rule: enum\)/);
});

test('an unknown key is named', () => {
  const error = configError(() => loadConfig({ file: yamlFile('elasticsearch:\n  urls: http://x:9200\n'), env: {} }));
  assert.match(error.message, /elasticsearch\.urls: unknown key \(rule: additionalProperties\)/);
});

test('a wrong type and a bad pattern are both reported at once', () => {
  const error = configError(() => loadConfig({ file: yamlFile('services:\n  kafka:\n    port: "x"\n    heap: lots\n'), env: {} }));
  assert.match(error.message, /services\.kafka\.port: must be integer \(rule: type\)/);
  assert.match(error.message, /services\.kafka\.heap: .*\(rule: pattern\)/);
});

test('broken YAML says where', () => {
  const error = configError(() => loadConfig({ file: yamlFile('kafka:\n  backend: [kafkajs\n'), env: {} }));
  assert.equal(error.code, 'CONFIG_UNREADABLE');
  assert.match(error.message, /not valid YAML at line \d+/);
});

test('a missing file is a clear error', () => {
  const error = configError(() => loadConfig({ file: '/nonexistent/tally.yaml', env: {} }));
  assert.equal(error.code, 'CONFIG_UNREADABLE');
  assert.match(error.message, /\/nonexistent\/tally\.yaml/);
});

test('environment overrides the file, and --set overrides the environment', () => {
  const file = yamlFile('kafka:\n  backend: kafkajs\n  clientId: from-file\n');
  const env = { KAFKA_BROKERS: 'k1:9092, k2:9092', ELASTICSEARCH_URL: 'https://es.example:9200', TALLY_KAFKA__CLIENT_ID: 'from-env', TALLY_KAFKA__MAX_IN_FLIGHT: '42' };
  const config = loadConfig({ file, env, sets: ['kafka.clientId=from-flag'] });
  assert.deepEqual(config.kafka.brokers, ['k1:9092', 'k2:9092']);
  assert.equal(config.elasticsearch.url, 'https://es.example:9200');
  assert.equal(config.kafka.maxInFlight, 42, 'numbers from the environment are numbers');
  assert.equal(config.kafka.clientId, 'from-flag');
});

test('an override that breaks the schema is reported like a file error', () => {
  const error = configError(() => loadConfig({ env: { TALLY_KAFKA__MAX_IN_FLIGHT: '0' } }));
  assert.match(error.message, /kafka\.maxInFlight: must be >= 1 \(rule: minimum\)/);
});

test('prototype keys cannot be set through overrides', () => {
  const error = configError(() => loadConfig({ env: {}, sets: ['__proto__.polluted=yes'] }));
  assert.equal(error.code, 'CONFIG_INVALID');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('kafka.ssl: a client certificate needs its key, and a key passphrase needs the key; each missing key is named', () => {
  const cases: [string[], RegExp][] = [
    [['kafka.ssl.certFile=/etc/tally/client.pem'], /kafka\.ssl\.keyFile: is required when kafka\.ssl\.certFile is set \(rule: dependencies\)/],
    [['kafka.ssl.keyFile=/etc/tally/client.key'], /kafka\.ssl\.certFile: is required when kafka\.ssl\.keyFile is set \(rule: dependencies\)/],
    [['kafka.ssl.keyPasswordFile=/run/secrets/key'], /kafka\.ssl\.keyFile: is required when kafka\.ssl\.keyPasswordFile is set \(rule: dependencies\)/],
  ];
  for (const [sets, message] of cases) {
    const error = configError(() => loadConfig({ env: {}, sets }));
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.match(error.message, message);
  }
  const config = loadConfig({ env: { TALLY_KAFKA__SSL__KEY_PASSWORD: 'from-env' }, sets: ['kafka.ssl.certFile=/c.pem', 'kafka.ssl.keyFile=/c.key', 'kafka.sasl.mechanism=plain', 'kafka.sasl.username=tally'] });
  assert.deepEqual(config.kafka.ssl, { enabled: true, certFile: '/c.pem', keyFile: '/c.key', keyPassword: 'from-env', rejectUnauthorized: true });
  assert.equal(config.kafka.sasl?.mechanism, 'plain');
});
