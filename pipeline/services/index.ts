import { rmSync } from 'node:fs';
import path from 'node:path';
import type { TallyConfig } from '../config/types.js';
import { clusterHealthy, probeCapabilities, type EsCapabilities } from '../elasticsearch/capabilities.js';
import { TallyError } from '../errors.js';
import { servicesLayout } from './layout.js';
import { apicurioHome, elasticsearchHome, kafkaLibs } from './artifacts.js';
import { checkKafkaSize, describeKafka, kafkaLiveness, resumableKafka, startKafka, stopKafka } from './kafka.js';
import { kafkaBrokerStatuses, type KafkaBrokerStatus } from './kafka-status.js';
import { brokerCount, kafkaReplication, localBootstrap } from './kafka-topology.js';
import { checkElasticsearchSize, elasticsearchLiveness, resumableElasticsearch, startElasticsearch, stopElasticsearch } from './elasticsearch.js';
import { outsideDirOf } from './elasticsearch-place.js';
import { esNodeCount, localElasticsearchUrl } from './elasticsearch-topology.js';
import { esUrls } from '../elasticsearch/nodes.js';
import { isAlive } from './process.js';
import { assertConfiguredInstance, runningInstance, type ServiceInstance, type ServiceName } from './instances.js';
import { reuseRegistry, startRegistry, stopRegistry, type RegistryStorage } from './registry.js';
import { registryAnswers } from './registry-http.js';
import { globalCompatibility } from './registry-rules.js';
import { localRegistryUrl, normaliseRegistryUrl } from './registry-topology.js';
import { readState, writeState, type ServicesState } from './state.js';

export type { ServiceInstance, ServiceName } from './instances.js';
/** In start order: the registry keeps its schemas in Kafka, so it starts once Kafka is ready. */
export const serviceNames: ServiceName[] = ['kafka', 'elasticsearch', 'registry'];

export interface ServiceStatus {
  name: ServiceName;
  /** local: started by Tally from this checkout; external: endpoints given by configuration or environment */
  mode: 'local' | 'external';
  up: boolean;
  endpoint: string;
  version?: string;
  pid?: number;
  startedAt?: string;
  reused?: boolean;
  logFile?: string;
  modules?: string[];
  capabilities?: Omit<EsCapabilities, 'modules' | 'version'>;
  /** Kafka started by Tally: every node (one for a single broker) */
  brokers?: KafkaBrokerStatus[];
  /** Elasticsearch started by Tally as a cluster: every node */
  nodes?: { nodeId: number; name: string; url: string; pid: number; up: boolean }[];
  /** the Schema Registry's global compatibility level, when it answers */
  compatibility?: string;
  /** what of this service this checkout runs, wherever it listens (`configured` false: not on the configured ports) */
  instances?: ServiceInstance[];
}

/**
 * Kafka is local when every configured broker is a node of the local Kafka (all of them by default);
 * Elasticsearch likewise; the registry when `registry.url` is the local registry's.
 */
export function isLocal(config: TallyConfig, name: ServiceName): boolean {
  if (name === 'registry') return normaliseRegistryUrl(config.registry.url) === localRegistryUrl(config.services.registry);
  if (name === 'kafka') {
    const local = new Set(localBootstrap(config.services.kafka));
    return config.kafka.brokers.length > 0 && config.kafka.brokers.every((broker) => local.has(broker));
  }
  const local = new Set(localElasticsearchUrl(config.services.elasticsearch).split(','));
  const urls = esUrls(config.elasticsearch.url);
  return urls.length > 0 && urls.every((url) => local.has(url));
}

async function kafkaStatus(config: TallyConfig, state: ServicesState): Promise<ServiceStatus> {
  const local = isLocal(config, 'kafka');
  const endpoint = config.kafka.brokers.join(',');
  const instance = runningInstance('kafka', state, config.services);
  const owned = local && instance?.configured ? state.kafka : undefined;
  const view = local && !owned ? undefined : await describeKafka(endpoint);
  // a local cluster is up only with every node registered
  const up = view !== undefined && view.controllerId !== null && view.brokerIds.length >= (local ? brokerCount(config.services.kafka) : 1);
  return {
    name: 'kafka',
    mode: local ? 'local' : 'external',
    up,
    endpoint,
    ...(owned ? { version: owned.version, pid: owned.pid, startedAt: owned.startedAt, logFile: owned.logFile, brokers: kafkaBrokerStatuses(owned, view) } : {}),
    ...(instance ? { instances: [instance] } : {}),
  };
}

async function elasticsearchStatus(config: TallyConfig, state: ServicesState): Promise<ServiceStatus> {
  const local = isLocal(config, 'elasticsearch');
  const endpoint = config.elasticsearch.url;
  const instance = runningInstance('elasticsearch', state, config.services);
  const owned = local && instance?.configured ? state.elasticsearch : undefined;
  // a local cluster is up only with every node in it
  const up = local && !owned ? false : await clusterHealthy(endpoint, {}, 2000, local ? esNodeCount(config.services.elasticsearch) : 1);
  const nodes = owned?.nodes?.map((n) => ({ nodeId: n.nodeId, name: n.name, url: n.url, pid: n.pid, up: isAlive(n) }));
  const status: ServiceStatus = {
    name: 'elasticsearch',
    mode: local ? 'local' : 'external',
    up,
    endpoint,
    ...(owned ? { pid: owned.pid, startedAt: owned.startedAt, logFile: owned.logFile } : {}),
    ...(nodes ? { nodes } : {}),
    ...(instance ? { instances: [instance] } : {}),
  };
  if (up) {
    try {
      const { version, modules, ...capabilities } = await probeCapabilities(endpoint);
      Object.assign(status, { version, modules, capabilities });
    } catch {
      /* secured external clusters may refuse the probe without credentials */
    }
  }
  return status;
}

async function registryStatus(config: TallyConfig, state: ServicesState): Promise<ServiceStatus> {
  const local = isLocal(config, 'registry');
  const instance = runningInstance('registry', state, config.services);
  const owned = local && instance?.configured ? state.registry : undefined;
  const access = { ...config.registry, requestTimeoutMs: Math.min(config.registry.requestTimeoutMs, 2000) };
  const up = local && !owned ? false : await registryAnswers(access);
  const compatibility = up ? await globalCompatibility(access).catch(() => undefined) : undefined;
  return {
    name: 'registry',
    mode: local ? 'local' : 'external',
    up,
    endpoint: config.registry.url,
    ...(owned ? { version: owned.version, pid: owned.pid, startedAt: owned.startedAt, logFile: owned.logFile } : {}),
    ...(compatibility ? { compatibility } : {}),
    ...(instance ? { instances: [instance] } : {}),
  };
}

export async function servicesStatus(config: TallyConfig): Promise<ServiceStatus[]> {
  const state = readState(servicesLayout(config.services).stateFile);
  return Promise.all([kafkaStatus(config, state), elasticsearchStatus(config, state), registryStatus(config, state)]);
}

/** The local registry stores its schemas in the local Kafka, all of whose brokers must run. */
function registryStorage(config: TallyConfig, state: ServicesState): RegistryStorage {
  if (!isLocal(config, 'kafka')) {
    throw new TallyError('SERVICE_START', `the local Schema Registry keeps its schemas in the local Kafka, but kafka.brokers (${config.kafka.brokers.join(',')}) is not the local Kafka; set registry.url to your own registry's Confluent API URL (then none is started), or use the local Kafka`);
  }
  if (kafkaLiveness(state.kafka) !== 'all') {
    throw new TallyError('SERVICE_START', `the local Schema Registry keeps its schemas in the local Kafka, which is not running${state.kafka ? ' with all its brokers' : ''}; start both: \`tally services start kafka registry\``);
  }
  return { bootstrap: config.kafka.brokers.join(','), topicPrefix: config.kafka.topicPrefix, replication: kafkaReplication(config.services.kafka) };
}

/**
 * Start what is local and not already running; reuse what runs. External endpoints are only checked.
 * Kafka and Elasticsearch start in parallel (Kafka is up in seconds, Elasticsearch takes longer); the
 * registry once Kafka is ready. A reused registry gets services.registry.compatibility again.
 * `only` left out (every service): with an external Kafka, the local registry, which can only store
 * in the local Kafka, is left out too; named, it is an error that says so.
 */
export async function startServices(config: TallyConfig, only: ServiceName[] = serviceNames): Promise<ServiceStatus[]> {
  if (only === serviceNames && isLocal(config, 'registry') && (!isLocal(config, 'kafka') || !config.registry.enabled)) only = serviceNames.filter((name) => name !== 'registry');
  const layout = servicesLayout(config.services);
  const state = readState(layout.stateFile);
  const reused = new Set<ServiceName>();
  const save = (): void => writeState(layout.stateFile, state);
  const tasks: Promise<void>[] = [];
  let kafkaReady: Promise<void> = Promise.resolve();
  for (const name of only) if (isLocal(config, name)) assertConfiguredInstance(name, state, config.services);
  if (only.includes('kafka') && isLocal(config, 'kafka')) {
    const running = state.kafka;
    if (running && kafkaLiveness(running) === 'all') {
      checkKafkaSize(running, config.services.kafka);
      reused.add('kafka');
    } else {
      kafkaReady = startKafka(layout, config.services.kafka, resumableKafka(running)).then((s) => { state.kafka = s; save(); });
      tasks.push(kafkaReady);
    }
  }
  if (only.includes('elasticsearch') && isLocal(config, 'elasticsearch')) {
    const running = state.elasticsearch;
    if (running && elasticsearchLiveness(running) === 'all') {
      checkElasticsearchSize(running, config.services.elasticsearch);
      reused.add('elasticsearch');
    } else tasks.push(startElasticsearch(layout, config.services.elasticsearch, resumableElasticsearch(running)).then((s) => { state.elasticsearch = s; save(); }));
  }
  if (only.includes('registry') && isLocal(config, 'registry')) {
    const running = state.registry;
    if (running && runningInstance('registry', state, config.services)) {
      reused.add('registry');
      tasks.push(reuseRegistry(running, config.services.registry));
    } else tasks.push(kafkaReady.then(() => startRegistry(layout, config.services.registry, registryStorage(config, state))).then((s) => { state.registry = s; save(); }));
  }
  const results = await Promise.allSettled(tasks);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  const statuses = await servicesStatus(config);
  return statuses.filter((s) => only.includes(s.name)).map((s) => ({ ...s, reused: reused.has(s.name) }));
}

/**
 * Stop only what this checkout started (by pid and start time), then drop its per-run data unless
 * keepData (a later start resumes on it). The registry stops first; it also stops when Kafka's data
 * goes (kafka without keepData), since its schemas went with it.
 */
export async function stopServices(config: TallyConfig, only: ServiceName[] = serviceNames, options: { keepData?: boolean } = {}): Promise<ServiceName[]> {
  const layout = servicesLayout(config.services);
  const state = readState(layout.stateFile);
  const stopped: ServiceName[] = [];
  if (state.registry && (only.includes('registry') || (only.includes('kafka') && !options.keepData))) {
    await stopRegistry(state.registry);
    stopped.push('registry');
    delete state.registry;
    writeState(layout.stateFile, state);
  }
  await Promise.all([
    only.includes('kafka') && state.kafka
      ? stopKafka(state.kafka).then(() => {
          stopped.push('kafka');
          if (options.keepData && state.kafka) state.kafka.kept = true;
          else delete state.kafka;
        })
      : undefined,
    only.includes('elasticsearch') && state.elasticsearch
      ? stopElasticsearch(state.elasticsearch).then(() => {
          stopped.push('elasticsearch');
          if (options.keepData && state.elasticsearch) state.elasticsearch.kept = true;
          else delete state.elasticsearch;
        })
      : undefined,
  ]);
  writeState(layout.stateFile, state);
  if (!options.keepData) {
    for (const name of stopped) rmSync(path.join(layout.runDir, name), { recursive: true, force: true });
    // a start that failed leaves its folders (outside the checkout, and the link to it) for its logs: stop removes them too
    if (only.includes('elasticsearch')) for (const dir of [path.join(layout.runDir, 'elasticsearch'), outsideDirOf(layout)]) rmSync(dir, { recursive: true, force: true });
  }
  return stopped;
}

/** Stop and start again on the same data (fault tests: broker restarts, Elasticsearch outages). */
export async function restartService(config: TallyConfig, name: ServiceName): Promise<ServiceStatus> {
  const layout = servicesLayout(config.services);
  const state = readState(layout.stateFile);
  assertConfiguredInstance(name, state, config.services);
  if (name === 'kafka') {
    const previous = state.kafka;
    if (previous) await stopKafka(previous);
    state.kafka = await startKafka(layout, config.services.kafka, previous);
  } else if (name === 'registry') {
    if (state.registry) await stopRegistry(state.registry);
    delete state.registry;
    state.registry = await startRegistry(layout, config.services.registry, registryStorage(config, state));
  } else {
    const previous = state.elasticsearch;
    if (previous) await stopElasticsearch(previous);
    state.elasticsearch = await startElasticsearch(layout, config.services.elasticsearch, previous);
  }
  writeState(layout.stateFile, state);
  const status = (await servicesStatus(config)).find((s) => s.name === name);
  if (!status) throw new Error(`no status for ${name}`);
  return status;
}

/** Download (once) what the local services run from, without starting them. */
export async function fetchServiceArtifacts(config: TallyConfig): Promise<{ name: ServiceName; path: string }[]> {
  const { cacheDir } = servicesLayout(config.services);
  const [kafka, elasticsearch, registry] = await Promise.all([
    kafkaLibs(cacheDir, config.services.kafka.version),
    elasticsearchHome(cacheDir, config.services.elasticsearch.version),
    apicurioHome(cacheDir, config.services.registry.version),
  ]);
  return [
    { name: 'kafka', path: kafka },
    { name: 'elasticsearch', path: elasticsearch },
    { name: 'registry', path: registry },
  ];
}
