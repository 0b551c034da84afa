import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServicesConfig } from '../../pipeline/config/types.js';
import { clusterHealthy } from '../../pipeline/elasticsearch/capabilities.js';
import { killElasticsearchNode, startElasticsearch, startElasticsearchNode, stopElasticsearch } from '../../pipeline/services/elasticsearch.js';
import { killKafkaNode, pauseKafkaNode, resumeKafkaNode, startKafka, startKafkaNode, stopKafka, stopKafkaNode } from '../../pipeline/services/kafka.js';
import { localBootstrap } from '../../pipeline/services/kafka-topology.js';
import { isAlive } from '../../pipeline/services/process.js';
import type { ServicesLayout } from '../../pipeline/services/layout.js';
import type { ElasticsearchState, KafkaState } from '../../pipeline/services/state.js';
import { projectRoot } from '../../pipeline/paths.js';
import { processGone } from '../support/own-broker.js';
import { freePort, freePortRun } from '../support/world.js';
import { killOnExit } from './leftovers.js';

/**
 * A Kafka broker and an Elasticsearch node of a fault world alone, on free ports with their own
 * folders, from the cached artifacts: the faults stop and restart them, which the shared services
 * must never see. Restarts keep the data folders (and Kafka's cluster id).
 */
export interface FaultServices {
  dir: string;
  /** the bootstrap list: every broker of the world */
  brokers: string;
  /** the world's Kafka: one broker, or a cluster whose nodes the faults stop, kill and freeze one by one */
  kafka: KafkaState;
  /** SIGKILL of the whole (one-broker) Kafka, keeping its data */
  killKafka(): Promise<void>;
  /** one node of a cluster: SIGTERM, SIGKILL, start again, SIGSTOP, SIGCONT */
  node: {
    stop(nodeId: number): Promise<void>;
    kill(nodeId: number): Promise<void>;
    start(nodeId: number): Promise<void>;
    pause(nodeId: number): void;
    resume(nodeId: number): void;
  };
  /** the world's Elasticsearch: every node's URL, comma-separated (one node, or a cluster) */
  esUrl: string;
  /** the world's Elasticsearch: one node, or a cluster whose nodes the faults kill one by one */
  elasticsearch: ElasticsearchState;
  esNode: {
    kill(nodeId: number): Promise<void>;
    start(nodeId: number): Promise<void>;
  };
  stopKafka(): Promise<void>;
  startKafka(): Promise<void>;
  stopElasticsearch(): Promise<void>;
  startElasticsearch(): Promise<void>;
  kafkaUp(): boolean;
  elasticsearchUp(): Promise<boolean>;
  close(): Promise<void>;
}

export const cacheDir = process.env.TALLY_FAULT_CACHE_DIR ?? path.join(projectRoot, '.tally', 'cache');

export async function startFaultServices(name: string, options: { kafkaBrokers?: number; esNodes?: number } = {}): Promise<FaultServices> {
  const dir = mkdtempSync(path.join(tmpdir(), `faults-${name}-`));
  // Elasticsearch runs as a service user who must enter every folder above its own
  chmodSync(dir, 0o755);
  const layout: ServicesLayout = { root: dir, cacheDir, runDir: path.join(dir, 'run'), stateFile: path.join(dir, 'run', 'services.json') };
  const brokerCount = options.kafkaBrokers ?? 1;
  // a cluster's node n listens on port + 2(n-1) and controllerPort + 2(n-1)
  const base = brokerCount > 1 ? await freePortRun(2 * brokerCount) : 0;
  const kafkaConfig: ServicesConfig['kafka'] =
    brokerCount > 1
      ? { version: '4.1.2', port: base, controllerPort: base + 1, heap: '512m', startTimeoutMs: 180_000, brokers: brokerCount }
      : { version: '4.1.2', port: await freePort(), controllerPort: await freePort(), heap: '512m', startTimeoutMs: 180_000 };
  const esNodes = options.esNodes ?? 1;
  // an Elasticsearch cluster's node n listens on httpPort + 2(n-1) and transportPort + 2(n-1)
  const esBase = esNodes > 1 ? await freePortRun(2 * esNodes) : 0;
  const esConfig: ServicesConfig['elasticsearch'] =
    esNodes > 1
      ? { version: '8.19.21', httpPort: esBase, transportPort: esBase + 1, heap: '512m', user: 'tally-es', startTimeoutMs: 300_000, nodes: esNodes }
      : { version: '8.19.21', httpPort: await freePort(), transportPort: await freePort(), heap: '512m', user: 'tally-es', startTimeoutMs: 300_000 };
  let kafka: KafkaState | undefined;
  let es: ElasticsearchState | undefined;
  let kafkaRunning = false;
  const [k, e] = await Promise.allSettled([startKafka(layout, kafkaConfig), startElasticsearch(layout, esConfig)]);
  if (k.status === 'fulfilled') kafka = k.value;
  if (e.status === 'fulfilled') es = e.value;
  if (!kafka || !es) {
    if (kafka) await stopKafka(kafka);
    if (es) await stopElasticsearch(es);
    const reason = k.status === 'rejected' ? k.reason : e.status === 'rejected' ? e.reason : 'unknown';
    throw new Error(`the fault world's services did not start: ${(reason as Error).message ?? String(reason)}`);
  }
  kafkaRunning = true;
  const kafkaState = kafka;
  let esState = es;
  let forgetKafka = killOnExit(-kafkaState.pid);
  const forgetEsNodes = new Map<number, () => void>();
  const watchEs = (): void => {
    for (const node of esState.nodes ?? [esState]) {
      const id = 'nodeId' in node ? node.nodeId : 1;
      forgetEsNodes.get(id)?.();
      forgetEsNodes.set(id, killOnExit(-node.pid));
    }
  };
  watchEs();
  const forgetEs = (): void => {
    for (const forget of forgetEsNodes.values()) forget();
    forgetEsNodes.clear();
  };
  const forgetNodes = new Map<number, () => void>();
  const watchNodes = (): void => {
    for (const node of kafkaState.nodes ?? []) {
      forgetNodes.get(node.nodeId)?.();
      forgetNodes.set(node.nodeId, killOnExit(-node.pid));
    }
  };
  watchNodes();
  return {
    dir,
    brokers: localBootstrap(kafkaConfig).join(','),
    kafka: kafkaState,
    async killKafka() {
      process.kill(-kafkaState.pid, 'SIGKILL');
      await processGone(kafkaState.pid);
      forgetKafka();
      kafkaRunning = false;
    },
    node: {
      stop: (nodeId) => stopKafkaNode(kafkaState, nodeId),
      kill: (nodeId) => killKafkaNode(kafkaState, nodeId),
      async start(nodeId) {
        await startKafkaNode(layout, kafkaConfig, kafkaState, nodeId);
        watchNodes();
      },
      pause: (nodeId) => pauseKafkaNode(kafkaState, nodeId),
      resume: (nodeId) => resumeKafkaNode(kafkaState, nodeId),
    },
    esUrl: esState.url,
    get elasticsearch() {
      return esState;
    },
    esNode: {
      kill: (nodeId) => killElasticsearchNode(esState, nodeId),
      async start(nodeId) {
        await startElasticsearchNode(layout, esConfig, esState, nodeId);
        watchEs();
      },
    },
    async stopKafka() {
      await stopKafka(kafkaState);
      forgetKafka();
      kafkaRunning = false;
    },
    async startKafka() {
      Object.assign(kafkaState, await startKafka(layout, kafkaConfig, kafkaState));
      forgetKafka = killOnExit(-kafkaState.pid);
      kafkaRunning = true;
    },
    async stopElasticsearch() {
      await stopElasticsearch(esState);
      forgetEs();
    },
    async startElasticsearch() {
      esState = await startElasticsearch(layout, esConfig, esState);
      watchEs();
    },
    kafkaUp: () => kafkaRunning,
    elasticsearchUp: () => clusterHealthy(esState.url),
    async close() {
      for (const node of kafkaState.nodes ?? []) if (isAlive(node)) resumeKafkaNode(kafkaState, node.nodeId);
      await Promise.all([stopKafka(kafkaState), stopElasticsearch(esState)]);
      forgetKafka();
      for (const forget of forgetNodes.values()) forget();
      forgetEs();
      if (!process.env.TALLY_FAULT_KEEP) for (const folder of [dir, esState.outsideDir]) if (folder) rmSync(folder, { recursive: true, force: true });
    },
  };
}
