import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../errors.js';
import type { LocalKafkaConfig } from '../config/types.js';
import { kafkaLibs } from './artifacts.js';
import { findJava, type JavaRuntime } from './java.js';
import { formatStorage, spawnBroker, type BrokerLaunch } from './kafka-process.js';
import { describeKafka } from './kafka-ready.js';
import type { ServicesLayout } from './layout.js';
import { isAlive, portInUse, signalProcess, stopProcess, waitFor } from './process.js';
import type { KafkaNodeState, KafkaState } from './state.js';

/**
 * One node of a local Kafka cluster: start it again on its data, stop it, or the faults a test
 * injects (SIGKILL, SIGSTOP, SIGCONT). Each call updates the node in `state`; the caller saves it.
 */

export function kafkaNode(state: KafkaState, nodeId: number): KafkaNodeState {
  const node = state.nodes?.find((n) => n.nodeId === nodeId);
  if (!node) throw new TallyError('USAGE', `the local Kafka has no node ${nodeId}; its nodes are ${(state.nodes ?? []).map((n) => n.nodeId).join(', ') || 'none (a single broker)'}`);
  return node;
}

export function nodeLaunch(state: KafkaState, node: KafkaNodeState, java: JavaRuntime, libs: string, heap: string): BrokerLaunch {
  return { java, libs, heap, dir: path.dirname(node.configFile), dataDir: node.dataDir, configFile: node.configFile, logConfig: path.join(state.dataDir, 'log4j2.properties'), logFile: node.logFile, clusterId: state.clusterId };
}

export async function ensurePortsFree(node: Pick<KafkaNodeState, 'nodeId' | 'port' | 'controllerPort'>): Promise<void> {
  for (const port of [node.port, node.controllerPort]) {
    if (port !== undefined && (await portInUse(port))) {
      throw new TallyError('SERVICE_START', `cannot start Kafka node ${node.nodeId}: port ${port} on 127.0.0.1 is already in use by a process this checkout did not start; stop it or choose other ports (services.kafka.port / controllerPort: node n uses port + 2(n-1) and controllerPort + 2(n-1))`);
    }
  }
}

/** Until the cluster, seen through the node's own listener, lists the node as a registered broker. */
export async function waitNodeRegistered(node: KafkaNodeState, timeoutMs: number): Promise<void> {
  await waitFor(`Kafka node ${node.nodeId}`, timeoutMs, async () => ((await describeKafka(node.endpoint))?.brokerIds.includes(node.nodeId) ? true : undefined), () => isAlive(node));
}

/** Node 1's process stands for the cluster in the state's top-level fields. */
export function syncNodeOne(state: KafkaState): void {
  const first = state.nodes?.[0];
  if (first) Object.assign(state, { pid: first.pid, startTicks: first.startTicks });
}

/** Start one stopped (or killed) node on its data and wait until it is registered again. */
export async function startKafkaNode(layout: ServicesLayout, config: LocalKafkaConfig, state: KafkaState, nodeId: number): Promise<KafkaNodeState> {
  const node = kafkaNode(state, nodeId);
  if (isAlive(node)) return node;
  await ensurePortsFree(node);
  const launch = nodeLaunch(state, node, findJava(`Kafka ${config.version}`, 17), await kafkaLibs(layout.cacheDir, config.version), config.heap);
  await formatStorage(launch);
  Object.assign(node, spawnBroker(launch), { startedAt: new Date().toISOString() });
  syncNodeOne(state);
  try {
    await waitNodeRegistered(node, config.startTimeoutMs);
  } catch (error) {
    await stopProcess(node, 5000);
    throw new TallyError('SERVICE_START', `Kafka node ${nodeId} did not rejoin the cluster: ${(error as Error).message}; see ${node.logFile}`, { cause: error });
  }
  return node;
}

/** SIGTERM (a clean shutdown: leadership moves away first), keeping the node's data. */
export async function stopKafkaNode(state: KafkaState, nodeId: number, graceMs = 30_000): Promise<void> {
  const node = kafkaNode(state, nodeId);
  // a paused node would sit on the SIGTERM until the grace time runs out
  signalProcess(node, 'SIGCONT');
  await stopProcess(node, graceMs);
}

/** SIGKILL: the node dies without a word; resolves once it is gone. Its data stays for startKafkaNode. */
export async function killKafkaNode(state: KafkaState, nodeId: number): Promise<void> {
  const node = kafkaNode(state, nodeId);
  signalProcess(node, 'SIGKILL');
  while (isAlive(node)) await sleep(50);
}

/** SIGSTOP: the node hangs (alive, silent) until resumeKafkaNode. */
export function pauseKafkaNode(state: KafkaState, nodeId: number): void {
  const node = kafkaNode(state, nodeId);
  if (!signalProcess(node, 'SIGSTOP')) throw new TallyError('USAGE', `Kafka node ${nodeId} is not running (pid ${node.pid}); nothing to pause`);
}

export function resumeKafkaNode(state: KafkaState, nodeId: number): void {
  const node = kafkaNode(state, nodeId);
  if (!signalProcess(node, 'SIGCONT')) throw new TallyError('USAGE', `Kafka node ${nodeId} is not running (pid ${node.pid}); nothing to resume`);
}
