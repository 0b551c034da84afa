import { rmSync } from 'node:fs';
import path from 'node:path';
import type { TallyConfig } from '../config/types.js';
import { clusterHealthy, probeCapabilities, type EsCapabilities } from '../elasticsearch/capabilities.js';
import { servicesLayout } from './layout.js';
import { elasticsearchHome, kafkaLibs } from './artifacts.js';
import { checkKafkaSize, describeKafka, kafkaLiveness, resumableKafka, startKafka, stopKafka } from './kafka.js';
import { kafkaBrokerStatuses, type KafkaBrokerStatus } from './kafka-status.js';
import { brokerCount, localBootstrap } from './kafka-topology.js';
import { checkElasticsearchSize, elasticsearchLiveness, resumableElasticsearch, startElasticsearch, stopElasticsearch } from './elasticsearch.js';
import { esNodeCount, localElasticsearchUrl } from './elasticsearch-topology.js';
import { esUrls } from '../elasticsearch/nodes.js';
import { isAlive } from './process.js';
import { readState, writeState, type ServicesState } from './state.js';

export type ServiceName = 'kafka' | 'elasticsearch';
export const serviceNames: ServiceName[] = ['kafka', 'elasticsearch'];

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
}

/** Kafka is local when every configured broker is a node of the local Kafka (all of them by default). */
export function isLocal(config: TallyConfig, name: ServiceName): boolean {
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
  const owned = local && kafkaLiveness(state.kafka) !== 'none' ? state.kafka : undefined;
  const view = local && !owned ? undefined : await describeKafka(endpoint);
  // a local cluster is up only with every node registered
  const up = view !== undefined && view.controllerId !== null && view.brokerIds.length >= (local ? brokerCount(config.services.kafka) : 1);
  return {
    name: 'kafka',
    mode: local ? 'local' : 'external',
    up,
    endpoint,
    ...(owned ? { version: owned.version, pid: owned.pid, startedAt: owned.startedAt, logFile: owned.logFile, brokers: kafkaBrokerStatuses(owned, view) } : {}),
  };
}

async function elasticsearchStatus(config: TallyConfig, state: ServicesState): Promise<ServiceStatus> {
  const local = isLocal(config, 'elasticsearch');
  const endpoint = config.elasticsearch.url;
  const owned = local && elasticsearchLiveness(state.elasticsearch) !== 'none' ? state.elasticsearch : undefined;
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

export async function servicesStatus(config: TallyConfig): Promise<ServiceStatus[]> {
  const state = readState(servicesLayout(config.services).stateFile);
  return Promise.all([kafkaStatus(config, state), elasticsearchStatus(config, state)]);
}

/**
 * Start what is local and not already running; reuse what runs. External endpoints are only checked.
 * Both services start in parallel: Kafka is up in seconds, Elasticsearch takes longer.
 */
export async function startServices(config: TallyConfig, only: ServiceName[] = serviceNames): Promise<ServiceStatus[]> {
  const layout = servicesLayout(config.services);
  const state = readState(layout.stateFile);
  const reused = new Set<ServiceName>();
  const save = (): void => writeState(layout.stateFile, state);
  const tasks: Promise<void>[] = [];
  if (only.includes('kafka') && isLocal(config, 'kafka')) {
    const running = state.kafka;
    if (running && kafkaLiveness(running) === 'all') {
      checkKafkaSize(running, config.services.kafka);
      reused.add('kafka');
    } else tasks.push(startKafka(layout, config.services.kafka, resumableKafka(running)).then((s) => { state.kafka = s; save(); }));
  }
  if (only.includes('elasticsearch') && isLocal(config, 'elasticsearch')) {
    const running = state.elasticsearch;
    if (running && elasticsearchLiveness(running) === 'all') {
      checkElasticsearchSize(running, config.services.elasticsearch);
      reused.add('elasticsearch');
    } else tasks.push(startElasticsearch(layout, config.services.elasticsearch, resumableElasticsearch(running)).then((s) => { state.elasticsearch = s; save(); }));
  }
  const results = await Promise.allSettled(tasks);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  const statuses = await servicesStatus(config);
  return statuses.filter((s) => only.includes(s.name)).map((s) => ({ ...s, reused: reused.has(s.name) }));
}

/** Stop only what this checkout started (by pid and start time), then drop its per-run data unless keepData (a later start resumes on it). */
export async function stopServices(config: TallyConfig, only: ServiceName[] = serviceNames, options: { keepData?: boolean } = {}): Promise<ServiceName[]> {
  const layout = servicesLayout(config.services);
  const state = readState(layout.stateFile);
  const stopped: ServiceName[] = [];
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
  }
  return stopped;
}

/** Stop and start again on the same data (fault tests: broker restarts, Elasticsearch outages). */
export async function restartService(config: TallyConfig, name: ServiceName): Promise<ServiceStatus> {
  const layout = servicesLayout(config.services);
  const state = readState(layout.stateFile);
  if (name === 'kafka') {
    const previous = state.kafka;
    if (previous) await stopKafka(previous);
    state.kafka = await startKafka(layout, config.services.kafka, previous);
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
  const [kafka, elasticsearch] = await Promise.all([kafkaLibs(cacheDir, config.services.kafka.version), elasticsearchHome(cacheDir, config.services.elasticsearch.version)]);
  return [
    { name: 'kafka', path: kafka },
    { name: 'elasticsearch', path: elasticsearch },
  ];
}
