import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../pipeline/config/load.js';
import { TallyError } from '../../../pipeline/errors.js';
import { isLocal, startServices } from '../../../pipeline/services/index.js';
import { javaInstallHint } from '../../../pipeline/services/java.js';
import { registryJavaVersion, registrySettings } from '../../../pipeline/services/registry.js';
import { registryTopics } from '../../../pipeline/services/registry-topology.js';
import { freePort } from '../../support/world.js';
import { loadWith, rejectedConfig } from '../../support/config-rules.js';

test('by default the local registry: Apicurio 3.3.3 on 19081 (management 19082), FULL_TRANSITIVE, and registry.url is its Confluent API', () => {
  const config = loadWith();
  assert.deepEqual(config.services.registry, { version: '3.3.3', port: 19081, managementPort: 19082, heap: '256m', startTimeoutMs: 180_000, compatibility: 'FULL_TRANSITIVE' });
  assert.equal(config.registry.url, 'http://127.0.0.1:19081/apis/ccompat/v7');
  assert.equal(config.registry.requestTimeoutMs, 10_000);
  assert.equal(config.registry.username, undefined);
  assert.equal(isLocal(config, 'registry'), true);
});

test('registry.url follows services.registry.port unless given; a given URL is an external registry', () => {
  const moved = loadWith('services.registry.port=29081');
  assert.equal(moved.registry.url, 'http://127.0.0.1:29081/apis/ccompat/v7');
  assert.equal(isLocal(moved, 'registry'), true);
  assert.equal(isLocal(loadWith('registry.url=http://127.0.0.1:19081/apis/ccompat/v7/'), 'registry'), true, 'a trailing slash is the same URL');
  const external = loadWith('registry.url=https://registry.example.org:8081', 'registry.username=tally', 'registry.passwordFile=/run/secrets/registry', 'registry.caFile=/etc/tally/ca.pem');
  assert.equal(isLocal(external, 'registry'), false);
  assert.deepEqual(
    { ...external.registry },
    { url: 'https://registry.example.org:8081', username: 'tally', passwordFile: '/run/secrets/registry', caFile: '/etc/tally/ca.pem', enabled: true, requestTimeoutMs: 10_000 },
  );
});

test('the environment sets the registry like any other section', () => {
  const config = loadConfig({ env: { TALLY_REGISTRY__URL: 'http://sr:8081', TALLY_REGISTRY__PASSWORD: '0123', TALLY_SERVICES__REGISTRY__MANAGEMENT_PORT: '29082', TALLY_SERVICES__REGISTRY__COMPATIBILITY: 'BACKWARD_TRANSITIVE' } });
  assert.equal(config.registry.url, 'http://sr:8081');
  assert.equal(config.registry.password, '0123', 'a password of digits stays a string');
  assert.equal(config.services.registry.managementPort, 29082);
  assert.equal(config.services.registry.compatibility, 'BACKWARD_TRANSITIVE');
});

test('impossible registry settings are CONFIG_INVALID naming the key', () => {
  assert.match(rejectedConfig(['registry.url=sr.example.org:8081']).message, /registry\.url: /);
  assert.match(rejectedConfig(['registry.url=http://a:8081,http://b:8081']).message, /registry\.url: /);
  assert.match(rejectedConfig(['services.registry.compatibility=STRICT']).message, /services\.registry\.compatibility: must be one of .*FULL_TRANSITIVE/);
  assert.match(rejectedConfig(['services.registry.managementPort=19081']).message, /services\.registry\.managementPort: port 19081 is also services\.registry\.port/);
  assert.match(rejectedConfig(['services.registry.port=19092']).message, /services\.kafka\.port \(node 1: port \+ 0\): port 19092 is also services\.registry\.port/);
  assert.match(rejectedConfig(['services.registry.managementPort=19202', 'services.elasticsearch.nodes=2']).message, /services\.elasticsearch\.httpPort \(node 2: httpPort \+ 2\): port 19202 is also services\.registry\.managementPort/);
  assert.match(rejectedConfig(['services.registry.heap=lots']).message, /services\.registry\.heap: .*\(rule: pattern\)/);
});

test("Apicurio's settings: loopback only, management off 9000, kafkasql in Tally's topics, the configured compatibility", () => {
  const config = loadWith('kafka.topicPrefix=site-a.');
  const settings = registrySettings(config.services.registry, { bootstrap: '127.0.0.1:19092', topicPrefix: 'site-a.', replication: { replicationFactor: 1, minInsyncReplicas: 1 } }, '/run/registry');
  assert.equal(settings['quarkus.http.host'], '127.0.0.1');
  assert.equal(settings['quarkus.http.port'], '19081');
  assert.equal(settings['quarkus.management.host'], '127.0.0.1');
  assert.equal(settings['quarkus.management.port'], '19082');
  assert.equal(settings['apicurio.storage.kind'], 'kafkasql');
  assert.equal(settings['apicurio.kafkasql.bootstrap.servers'], '127.0.0.1:19092');
  assert.equal(settings['apicurio.kafkasql.topic'], 'site-a._tally-registry-journal');
  assert.equal(settings['apicurio.kafkasql.snapshots.topic'], registryTopics('site-a.').snapshots);
  assert.equal(settings['apicurio.events.kafka.topic'], registryTopics('site-a.').events);
  assert.equal(settings['apicurio.rules.global.compatibility'], 'FULL_TRANSITIVE');
  assert.equal(settings['java.io.tmpdir'], '/run/registry/tmp');
});

test('a missing Java 21 is explained with where to get one', () => {
  assert.equal(registryJavaVersion, 21);
  const hint = javaInstallHint(21);
  assert.match(hint, /Java 21 or later/);
  assert.match(hint, /Temurin/);
  assert.match(hint, /TALLY_JAVA_HOME/);
  assert.equal(javaInstallHint(17), 'Install openjdk-17-jdk-headless or set TALLY_JAVA_HOME.');
});

test('with an external Kafka the local registry cannot run: left out of a start of everything, an error when named', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-registry-external-'));
  try {
    const closed = await freePort();
    const config = loadWith(`services.dir=${dir}`, `kafka.brokers=["127.0.0.1:${closed}"]`, `elasticsearch.url=http://127.0.0.1:${closed}`);
    assert.equal(isLocal(config, 'kafka'), false);
    assert.equal(isLocal(config, 'registry'), true);
    const statuses = await startServices(config);
    assert.deepEqual(
      statuses.map((s) => [s.name, s.mode, s.up]),
      [
        ['kafka', 'external', false],
        ['elasticsearch', 'external', false],
      ],
    );
    await assert.rejects(startServices(config, ['registry']), (error: unknown) => {
      assert.ok(error instanceof TallyError);
      assert.equal(error.code, 'SERVICE_START');
      assert.match(error.message, new RegExp(`kafka\\.brokers \\(127\\.0\\.0\\.1:${closed}\\) is not the local Kafka; set registry\\.url`));
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
