import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OwnedProcess } from './process.js';

/** One node of a local Kafka cluster (services.kafka.brokers >= 2). */
export interface KafkaNodeState extends OwnedProcess {
  nodeId: number;
  endpoint: string;
  port: number;
  /** voters only */
  controllerPort?: number;
  voter: boolean;
  dataDir: string;
  configFile: string;
  logFile: string;
  startedAt: string;
}

/**
 * The local Kafka. With one broker, that broker. With a cluster, `nodes` lists every node; pid,
 * startTicks, port, controllerPort, configFile and logFile are node 1's, bootstrap lists every
 * node's address (comma-separated) and dataDir is the cluster's folder.
 */
export interface KafkaState extends OwnedProcess {
  version: string;
  bootstrap: string;
  port: number;
  controllerPort: number;
  clusterId: string;
  dataDir: string;
  configFile: string;
  logFile: string;
  startedAt: string;
  /** stopped with keepData: the next start reuses dataDir */
  kept?: boolean;
  nodes?: KafkaNodeState[];
}

/** One node of a local Elasticsearch cluster (services.elasticsearch.nodes >= 2). */
export interface ElasticsearchNodeState extends OwnedProcess {
  nodeId: number;
  name: string;
  url: string;
  httpPort: number;
  transportPort: number;
  dataDir: string;
  confDir: string;
  logFile: string;
  startedAt: string;
}

/**
 * The local Elasticsearch. With one node, that node. With a cluster, `nodes` lists every node; pid,
 * startTicks, ports, dataDir, confDir and logFile are node 1's, and url lists every node's
 * (comma-separated, as `elasticsearch.url` takes them).
 */
export interface ElasticsearchState extends OwnedProcess {
  version: string;
  url: string;
  httpPort: number;
  transportPort: number;
  home: string;
  dataDir: string;
  confDir: string;
  logFile: string;
  user: string | undefined;
  /** the folder outside the checkout holding install, config, data and logs (the service user cannot enter the checkout); removed by stop */
  outsideDir?: string;
  startedAt: string;
  kept?: boolean;
  nodes?: ElasticsearchNodeState[];
}

/** The local Schema Registry: one Apicurio JVM whose data lives in the local Kafka's topics. */
export interface RegistryState extends OwnedProcess {
  version: string;
  /** the Confluent API base URL */
  url: string;
  port: number;
  managementPort: number;
  home: string;
  /** run/registry: its log and temporary files (the schemas are in Kafka) */
  dir: string;
  logFile: string;
  /** the Kafka it stores its schemas in, and the journal topic there */
  bootstrap: string;
  journalTopic: string;
  compatibility: string;
  startedAt: string;
}

export interface ServicesState {
  kafka?: KafkaState;
  elasticsearch?: ElasticsearchState;
  registry?: RegistryState;
}

export function readState(file: string): ServicesState {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ServicesState;
  } catch {
    return {};
  }
}

export function writeState(file: string, state: ServicesState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, file);
}
