import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TallyError } from '../errors.js';
import type { LocalKafkaConfig } from '../config/types.js';
import { kafkaLibs } from './artifacts.js';
import { findJava } from './java.js';
import { ensurePortsFree, nodeLaunch, stopKafkaNode, syncNodeOne } from './kafka-node.js';
import { clusterId, formatStorage, spawnBroker } from './kafka-process.js';
import { clusterSettings, log4j2, nodeProperties } from './kafka-properties.js';
import { kafkaReady } from './kafka-ready.js';
import { brokerCount, kafkaHost, kafkaNodes, kafkaReplication } from './kafka-topology.js';
import type { ServicesLayout } from './layout.js';
import { isAlive, waitFor } from './process.js';
import type { KafkaNodeState, KafkaState } from './state.js';

/**
 * A local Kafka of N >= 2 KRaft nodes, one JVM each, in run/kafka/node-<n>/ (data, server.properties,
 * kafka.log). With `previous` (of the same size), its data and cluster id are reused and nodes still running are kept;
 * otherwise the folder starts empty. Ready when all N brokers are registered and a controller is known.
 */
export async function startKafkaCluster(layout: ServicesLayout, config: LocalKafkaConfig, previous?: KafkaState): Promise<KafkaState> {
  const topology = kafkaNodes(config);
  const brokers = brokerCount(config);
  const dir = path.join(layout.runDir, 'kafka');
  if (!previous) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'log4j2.properties'), log4j2);
  const settings = clusterSettings(kafkaReplication(config));
  const now = new Date().toISOString();
  const nodes: KafkaNodeState[] = topology.map((node) => {
    const nodeDir = path.join(dir, `node-${node.nodeId}`);
    const kept = previous?.nodes?.find((n) => n.nodeId === node.nodeId);
    const dataDir = path.join(nodeDir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const configFile = path.join(nodeDir, 'server.properties');
    writeFileSync(configFile, nodeProperties(node, topology, settings, dataDir));
    return {
      pid: kept?.pid ?? 0,
      startTicks: kept?.startTicks ?? '',
      nodeId: node.nodeId,
      endpoint: `${kafkaHost}:${node.port}`,
      port: node.port,
      ...(node.controllerPort === undefined ? {} : { controllerPort: node.controllerPort }),
      voter: node.voter,
      dataDir,
      configFile,
      logFile: path.join(nodeDir, 'kafka.log'),
      startedAt: kept?.startedAt ?? now,
    };
  });
  const first = nodes[0] as KafkaNodeState;
  const state: KafkaState = {
    pid: 0,
    startTicks: '',
    version: config.version,
    bootstrap: nodes.map((n) => n.endpoint).join(','),
    port: first.port,
    controllerPort: first.controllerPort ?? config.controllerPort,
    clusterId: previous?.clusterId ?? clusterId(),
    dataDir: dir,
    configFile: first.configFile,
    logFile: first.logFile,
    startedAt: now,
    nodes,
  };

  const toStart = nodes.filter((n) => !isAlive(n));
  for (const node of toStart) await ensurePortsFree(node);
  const java = findJava(`Kafka ${config.version}`, 17);
  const libs = await kafkaLibs(layout.cacheDir, config.version);
  const launches = toStart.map((node) => ({ node, launch: nodeLaunch(state, node, java, libs, config.heap) }));
  await Promise.all(launches.map(({ launch }) => formatStorage(launch)));
  for (const { node, launch } of launches) Object.assign(node, spawnBroker(launch), { startedAt: now });
  syncNodeOne(state);
  try {
    await waitFor(`Kafka (${brokers} brokers)`, config.startTimeoutMs, async () => ((await kafkaReady(state.bootstrap, 2000, {}, brokers)) ? true : undefined), () => nodes.every((n) => isAlive(n)));
  } catch (error) {
    const logs = nodes.filter((n) => !isAlive(n)).map((n) => n.logFile);
    await stopKafkaCluster(state);
    throw new TallyError('SERVICE_START', `Kafka (${brokers} brokers) did not start: ${(error as Error).message}; see ${(logs.length ? logs : nodes.map((n) => n.logFile)).join(', ')}`, { cause: error });
  }
  return state;
}

/**
 * Broker-only nodes first: their clean shutdown asks the controller quorum, which must still be there.
 * The voters then stop together, and the last of them, without a majority, may wait for the quorum
 * forever: after a short grace it is killed (its log is recovered on the next start with kept data).
 */
export async function stopKafkaCluster(state: KafkaState): Promise<void> {
  const nodes = state.nodes ?? [];
  await Promise.all(nodes.filter((node) => !node.voter).map((node) => stopKafkaNode(state, node.nodeId)));
  await Promise.all(nodes.filter((node) => node.voter).map((node) => stopKafkaNode(state, node.nodeId, 10_000)));
}
