import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalRegistryConfig } from '../config/types.js';
import { TallyError, messageOf } from '../errors.js';
import { apicurioHome } from './artifacts.js';
import { findJava } from './java.js';
import type { KafkaReplication } from './kafka-topology.js';
import type { ServicesLayout } from './layout.js';
import { isAlive, portInUse, spawnDetached, stopProcess, waitFor } from './process.js';
import { registryAnswers } from './registry-http.js';
import { applyGlobalCompatibility } from './registry-rules.js';
import { ensureRegistryTopics } from './registry-topics.js';
import { localRegistryUrl, registryHost, registryTopics } from './registry-topology.js';
import type { RegistryState } from './state.js';

/** Where the local registry keeps its schemas: the local Kafka. */
export interface RegistryStorage {
  bootstrap: string;
  topicPrefix: string;
  replication: KafkaReplication;
}

/** Apicurio 3 is built for Java 21 (class file 65); Java 17 fails with UnsupportedClassVersionError. */
export const registryJavaVersion = 21;

/** Apicurio's settings, as system properties (they win over its application.properties; checked against 3.3.3's). */
export function registrySettings(config: LocalRegistryConfig, storage: RegistryStorage, dir: string): Record<string, string> {
  const topics = registryTopics(storage.topicPrefix);
  const tmp = path.join(dir, 'tmp');
  return {
    'quarkus.http.host': registryHost,
    'quarkus.http.port': String(config.port),
    // health and metrics; 0.0.0.0:9000 unless moved
    'quarkus.management.host': registryHost,
    'quarkus.management.port': String(config.managementPort),
    'quarkus.http.access-log.enabled': 'false',
    'apicurio.storage.kind': 'kafkasql',
    'apicurio.kafkasql.bootstrap.servers': storage.bootstrap,
    'apicurio.kafkasql.topic': topics.journal,
    'apicurio.kafkasql.snapshots.topic': topics.snapshots,
    'apicurio.events.kafka.topic': topics.events,
    // each start replays the journal under a fresh consumer group: name them so they are recognisable
    'apicurio.kafkasql.consumer.group-prefix': 'tally-registry-',
    // the default 5 s poll makes every start wait seconds on an empty journal
    'apicurio.kafkasql.consumer.poll.timeout': '500',
    // the level until the REST call at start sets it; a level stored earlier wins over this one
    'apicurio.rules.global.compatibility': config.compatibility,
    'apicurio.storage.snapshot.location': tmp,
    'apicurio.import.work-dir': tmp,
    'java.io.tmpdir': tmp,
  };
}

async function ensurePortsFree(config: LocalRegistryConfig): Promise<void> {
  for (const [port, key] of [
    [config.port, 'services.registry.port'],
    [config.managementPort, 'services.registry.managementPort'],
  ] as const) {
    if (await portInUse(port)) {
      throw new TallyError('SERVICE_START', `cannot start the Schema Registry: port ${port} on 127.0.0.1 (${key}) is already in use by a process this checkout did not start; stop it or choose another port`);
    }
  }
}

/**
 * Start Apicurio Registry on the local Kafka (which must be up): its topics created with the
 * Kafka's replication, ready when the Confluent API lists the subjects, and the global
 * compatibility level set (and read back). Its run folder holds only the log and temporary files.
 */
export async function startRegistry(layout: ServicesLayout, config: LocalRegistryConfig, storage: RegistryStorage): Promise<RegistryState> {
  await ensurePortsFree(config);
  const java = findJava(`the Schema Registry (Apicurio Registry ${config.version})`, registryJavaVersion);
  const home = await apicurioHome(layout.cacheDir, config.version);
  const dir = path.join(layout.runDir, 'registry');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const topics = registryTopics(storage.topicPrefix);
  await ensureRegistryTopics(storage.bootstrap, [topics.journal, topics.snapshots, topics.events], storage.replication);

  const logFile = path.join(dir, 'registry.log');
  writeFileSync(logFile, '');
  const settings = Object.entries(registrySettings(config, storage, dir)).map(([key, value]) => `-D${key}=${value}`);
  const jvm = [`-Xmx${config.heap}`, '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true'];
  const owned = spawnDetached(java.java, [...jvm, ...settings, '-jar', path.join(home, 'quarkus-run.jar')], { logFile, cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const url = localRegistryUrl(config);
  const access = { url, requestTimeoutMs: 2000 };
  try {
    await waitFor('the Schema Registry', config.startTimeoutMs, async () => ((await registryAnswers(access)) ? true : undefined), () => isAlive(owned));
    await applyGlobalCompatibility({ ...access, requestTimeoutMs: 10_000 }, config.compatibility);
  } catch (error) {
    await stopProcess(owned, 5000);
    throw new TallyError('SERVICE_START', `the Schema Registry (Apicurio ${config.version} on port ${config.port}, storing in Kafka ${storage.bootstrap}) did not start: ${messageOf(error)}; see ${logFile}`, { cause: error });
  }
  return {
    ...owned,
    version: config.version,
    url,
    port: config.port,
    managementPort: config.managementPort,
    home,
    dir,
    logFile,
    bootstrap: storage.bootstrap,
    journalTopic: topics.journal,
    compatibility: config.compatibility,
    startedAt: new Date().toISOString(),
  };
}

/**
 * A registry of this checkout that runs already: once its Confluent API answers (another start may
 * still be waiting for it), give it the configured compatibility level again.
 */
export async function reuseRegistry(state: RegistryState, config: LocalRegistryConfig): Promise<void> {
  const access = { url: state.url, requestTimeoutMs: 2000 };
  try {
    await waitFor('the Schema Registry', config.startTimeoutMs, async () => ((await registryAnswers(access)) ? true : undefined), () => isAlive(state));
    await applyGlobalCompatibility({ ...access, requestTimeoutMs: 10_000 }, config.compatibility);
  } catch (error) {
    throw new TallyError('SERVICE_START', `the running Schema Registry (pid ${state.pid}, ${state.url}) is not usable: ${messageOf(error)}; see ${state.logFile}, or stop it with \`tally services stop registry\` and start it again`, { cause: error });
  }
}

/** SIGTERM (Quarkus shuts down in a second or two), SIGKILL after 30 s. Its schemas stay in Kafka. */
export async function stopRegistry(state: RegistryState): Promise<void> {
  await stopProcess(state, 30_000);
}
