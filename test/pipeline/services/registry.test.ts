import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { loadConfig } from '../../../pipeline/config/load.js';
import type { TallyConfig } from '../../../pipeline/config/types.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { restartService, servicesStatus, startServices, stopServices, type ServiceStatus } from '../../../pipeline/services/index.js';
import { servicesLayout } from '../../../pipeline/services/layout.js';
import { registryTopics } from '../../../pipeline/services/registry-topology.js';
import { readState } from '../../../pipeline/services/state.js';
import { eventually, freePortRun, infraMode } from '../../support/world.js';
import { processesMentioning } from '../../support/processes.js';

const run = promisify(execFile);
const tally = path.join(projectRoot, 'bin/tally');
const mediaType = 'application/vnd.schemaregistry.v1+json';

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+([0-9]+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}

/** What Quarkus says of its own start ("started in 9.1s"), from the registry's log. */
function quarkusStart(logFile: string): string {
  const line = /started in ([0-9.]+)s/.exec(existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  return line ? `Quarkus started in ${line[1]} s` : 'no start line in its log';
}

/** Version 1 of a record, and the changes FULL_TRANSITIVE refuses or accepts. */
const field = (name: string, type: string, extra: Record<string, unknown> = {}) => ({ name, type, ...extra });
const record = (...fields: Record<string, unknown>[]) => JSON.stringify({ type: 'record', name: 'Usage', namespace: 'tally.test', fields });
const v1 = record(field('site', 'string'), field('cores', 'int'));
const withNewFieldNoDefault = record(field('site', 'string'), field('cores', 'int'), field('vo', 'string'));
const withoutCores = record(field('site', 'string'));
const withNewFieldDefault = record(field('site', 'string'), field('cores', 'int'), field('vo', 'string', { default: '' }));

/**
 * A local Kafka and Schema Registry of their own (temporary folder, free ports): Apicurio on
 * kafkasql, the global compatibility level, Confluent-API registrations under it, a restart that
 * keeps every schema, and a stop that leaves no process.
 */
describe('the local Schema Registry (Apicurio on the local Kafka)', { timeout: 600_000, skip: infraMode !== 'local' ? `needs the local services (infrastructure is ${infraMode})` : false }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-registry-'));
  const subject = 'tally-test.usage-value';
  let config: TallyConfig;
  let env: NodeJS.ProcessEnv;
  let api: string;

  const ccompat = async (method: string, route: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`${api}${route}`, { method, headers: { accept: mediaType, ...(body === undefined ? {} : { 'content-type': mediaType }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const register = (schema: string) => ccompat('POST', `/subjects/${subject}/versions`, { schema });
  const registryStatus = async (): Promise<ServiceStatus> => {
    const status = (await servicesStatus(config)).find((s) => s.name === 'registry');
    assert.ok(status, 'a registry status');
    return status;
  };

  before(async () => {
    const cache = path.join(projectRoot, '.tally', 'cache');
    if (existsSync(cache)) symlinkSync(cache, path.join(dir, 'cache'));
    // Elasticsearch's ports too, though none is started here: status must not probe a shared node on 19200
    const base = await freePortRun(6);
    const ports = { kafka: base, controller: base + 1, registry: base + 2, management: base + 3, esHttp: base + 4, esTransport: base + 5 };
    config = loadConfig({
      env: {},
      sets: ['log.level=warn', `services.dir=${dir}`, `services.kafka.port=${ports.kafka}`, `services.kafka.controllerPort=${ports.controller}`, `services.registry.port=${ports.registry}`, `services.registry.managementPort=${ports.management}`, `services.elasticsearch.httpPort=${ports.esHttp}`, `services.elasticsearch.transportPort=${ports.esTransport}`],
    });
    api = config.registry.url;
    env = {
      ...process.env,
      TALLY_SERVICES__DIR: dir,
      TALLY_SERVICES__KAFKA__PORT: String(ports.kafka),
      TALLY_SERVICES__KAFKA__CONTROLLER_PORT: String(ports.controller),
      TALLY_SERVICES__REGISTRY__PORT: String(ports.registry),
      TALLY_SERVICES__REGISTRY__MANAGEMENT_PORT: String(ports.management),
      TALLY_SERVICES__ELASTICSEARCH__HTTP_PORT: String(ports.esHttp),
      TALLY_SERVICES__ELASTICSEARCH__TRANSPORT_PORT: String(ports.esTransport),
    };
    delete env.KAFKA_BROKERS;
    delete env.ELASTICSEARCH_URL;
    delete env.TALLY_REGISTRY__URL;
  });

  after(async () => {
    await stopServices(config, ['registry', 'kafka']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('start brings up Kafka, then the registry on its Confluent API with FULL_TRANSITIVE; a second start reuses it', async (t) => {
    await assert.rejects(startServices(config, ['registry']), /keeps its schemas in the local Kafka, which is not running; start both: `tally services start kafka registry`/);

    const started = Date.now();
    const statuses = await startServices(config, ['kafka', 'registry']);
    t.diagnostic(`Kafka and the registry ready in ${Date.now() - started} ms`);
    const registry = statuses.find((s) => s.name === 'registry');
    assert.equal(registry?.up, true);
    assert.equal(registry.mode, 'local');
    assert.equal(registry.endpoint, api);
    assert.equal(registry.version, '3.3.3');
    assert.equal(registry.compatibility, 'FULL_TRANSITIVE');
    assert.ok(registry.pid);
    const state = readState(servicesLayout(config.services).stateFile).registry;
    assert.ok(state, 'the state file records the registry');
    const cpuBefore = cpuSeconds(registry.pid);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    t.diagnostic(`registry: ${quarkusStart(state.logFile)}, RSS ${rssMiB(registry.pid)} MiB, idle CPU ${((cpuSeconds(registry.pid) - cpuBefore) / 10).toFixed(3)} cores over 10 s`);

    assert.deepEqual(await ccompat('GET', '/config'), { status: 200, body: { compatibilityLevel: 'FULL_TRANSITIVE' } });
    assert.equal((await fetch(`http://127.0.0.1:${config.services.registry.managementPort}/health/ready`)).status, 200, 'health on the moved management port');

    const admin = new kafkajs.Kafka({ brokers: config.kafka.brokers, clientId: 'registry-test', logLevel: kafkajs.logLevel.NOTHING }).admin();
    try {
      await admin.connect();
      const topics = registryTopics(config.kafka.topicPrefix);
      const metadata = await admin.fetchTopicMetadata({ topics: [topics.journal, topics.snapshots, topics.events] });
      assert.deepEqual(
        metadata.topics.map((m) => [m.name, m.partitions.length, m.partitions[0]?.replicas.length]).sort(),
        [topics.journal, topics.snapshots, topics.events].map((name) => [name, 1, 1]).sort(),
        'one partition each, with the replication of the local Kafka (one broker: 1)',
      );
      const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topics.journal, configNames: ['retention.ms', 'retention.bytes'] }] });
      assert.deepEqual(
        configs.resources[0]?.configEntries.map((e) => [e.configName, e.configValue]).sort(),
        [
          ['retention.bytes', '-1'],
          ['retention.ms', '-1'],
        ],
      );
    } finally {
      await admin.disconnect();
    }

    const again = Date.now();
    const [reused] = await startServices(config, ['registry']);
    assert.equal(reused?.reused, true);
    assert.equal(reused.pid, registry.pid, 'no new process');
    assert.ok(Date.now() - again < 10_000, `the second start took ${Date.now() - again} ms`);

    const cli = await run(tally, ['services', 'status', '--json'], { env }).catch((error: { stdout: string }) => error);
    const reported = (JSON.parse(cli.stdout) as { services: ServiceStatus[] }).services.find((s) => s.name === 'registry');
    assert.deepEqual([reported?.up, reported?.endpoint, reported?.pid, reported?.compatibility], [true, api, registry.pid, 'FULL_TRANSITIVE']);
  });

  test('FULL_TRANSITIVE: a field without a default, added or removed, is refused with 409; a new field with a default is accepted', async () => {
    const first = await register(v1);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(typeof first.body.id, 'number');

    const added = await register(withNewFieldNoDefault);
    assert.equal(added.status, 409, 'a new reader cannot read old records without a default');
    assert.match(String(added.body.message), /vo/);
    const removed = await register(withoutCores);
    assert.equal(removed.status, 409, 'an old reader cannot read new records missing a field it has no default for (BACKWARD alone would allow this)');

    const compatible = await register(withNewFieldDefault);
    assert.equal(compatible.status, 200, JSON.stringify(compatible.body));
    assert.notEqual(compatible.body.id, first.body.id);
    assert.deepEqual((await ccompat('GET', `/subjects/${subject}/versions`)).body, [1, 2]);
    const again = await register(withNewFieldDefault);
    assert.deepEqual(again, compatible, 'registering the same schema again returns its id');
  });

  test('a restart keeps every schema (kafkasql) and sets the configured level back after it was changed through the API', async (t) => {
    const before = await Promise.all([1, 2].map(async (version) => (await ccompat('GET', `/subjects/${subject}/versions/${version}`)).body));
    const changed = await ccompat('PUT', '/config', { compatibility: 'NONE' });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await ccompat('GET', '/config')).body.compatibilityLevel, 'NONE');

    const started = Date.now();
    const status = await restartService(config, 'registry');
    t.diagnostic(`registry restarted in ${Date.now() - started} ms (stop, start, journal replay); ${quarkusStart(readState(servicesLayout(config.services).stateFile).registry?.logFile ?? '')}`);
    assert.equal(status.up, true);
    assert.equal(status.compatibility, 'FULL_TRANSITIVE', 'the level stored through the API was overridden by the configuration');

    assert.deepEqual((await ccompat('GET', '/subjects')).body, [subject]);
    const after = await Promise.all([1, 2].map(async (version) => (await ccompat('GET', `/subjects/${subject}/versions/${version}`)).body));
    assert.deepEqual(after, before, 'same ids, versions and schemas');
    assert.equal((await register(withNewFieldNoDefault)).status, 409, 'still enforced after the restart');
  });

  test('stop (through the CLI) stops the registry and Kafka and leaves no process', async () => {
    const pids = [(await registryStatus()).pid, readState(servicesLayout(config.services).stateFile).kafka?.pid].filter((pid): pid is number => pid !== undefined);
    assert.equal(pids.length, 2);
    const { stdout } = await run(tally, ['services', 'stop', 'registry', 'kafka', '--json'], { env });
    assert.deepEqual((JSON.parse(stdout) as { stopped: string[] }).stopped.sort(), ['kafka', 'registry']);
    // a stopped JVM is gone once reaped: give this process's event loop a moment to reap its children
    await eventually('no process of this test folder left', 10_000, () => (pids.every((pid) => !existsSync(`/proc/${pid}`)) && processesMentioning(dir).length === 0 ? true : undefined));
    const status = await registryStatus();
    assert.equal(status.up, false);
    assert.equal(status.pid, undefined);
    assert.equal(readState(servicesLayout(config.services).stateFile).registry, undefined);
  });
});
