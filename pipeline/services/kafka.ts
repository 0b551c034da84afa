import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TallyError } from '../errors.js';
import type { LocalKafkaConfig } from '../config/types.js';
import { kafkaLibs } from './artifacts.js';
import { findJava } from './java.js';
import { startKafkaCluster, stopKafkaCluster } from './kafka-cluster.js';
import { clusterId, formatStorage, spawnBroker, type BrokerLaunch } from './kafka-process.js';
import { log4j2, nodeProperties, singleNodeSettings } from './kafka-properties.js';
import { kafkaReady } from './kafka-ready.js';
import { brokerCount, type KafkaNode } from './kafka-topology.js';
import type { ServicesLayout } from './layout.js';
import { isAlive, portInUse, resumableService, serviceLiveness, stopProcess, waitFor } from './process.js';
import type { KafkaState } from './state.js';

export { clusterId } from './kafka-process.js';
export { log4j2, singleNodeSettings } from './kafka-properties.js';
export { describeKafka, kafkaReady } from './kafka-ready.js';
export { killKafkaNode, pauseKafkaNode, resumeKafkaNode, startKafkaNode, stopKafkaNode } from './kafka-node.js';

export const kafkaLiveness = (state: KafkaState | undefined) => serviceLiveness(state);
export const resumableKafka = (state: KafkaState | undefined) => resumableService(state);

/** A Kafka of this checkout (running, or kept) has another broker count than the configuration asks for. */
export function checkKafkaSize(state: KafkaState, config: LocalKafkaConfig): void {
  const had = state.nodes?.length ?? 1;
  const wanted = brokerCount(config);
  if (had !== wanted) {
    throw new TallyError('SERVICE_START', `the local Kafka in ${state.dataDir} has ${had} broker(s) but services.kafka.brokers is ${wanted}; use the same count, or stop it and drop its data first with \`tally services stop kafka\` (without --keep-data)`);
  }
}

/**
 * Start the local Kafka: one combined broker/controller (services.kafka.brokers 1), or a cluster.
 * With `previous`, reuse its data folder and cluster id (a restart); otherwise a fresh folder.
 */
export async function startKafka(layout: ServicesLayout, config: LocalKafkaConfig, previous?: KafkaState): Promise<KafkaState> {
  if (previous) checkKafkaSize(previous, config);
  return brokerCount(config) > 1 ? startKafkaCluster(layout, config, previous) : startSingleKafka(layout, config, previous);
}

async function startSingleKafka(layout: ServicesLayout, config: LocalKafkaConfig, previous?: KafkaState): Promise<KafkaState> {
  for (const port of [config.port, config.controllerPort]) {
    if (await portInUse(port)) throw new TallyError('SERVICE_START', `cannot start Kafka: port ${port} on 127.0.0.1 is already in use by a process this checkout did not start; stop it or choose other ports (services.kafka.port / controllerPort)`);
  }
  const dir = path.join(layout.runDir, 'kafka');
  const dataDir = previous?.dataDir ?? path.join(dir, 'data');
  const id = previous?.clusterId ?? clusterId();
  if (!previous) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const launch: BrokerLaunch = {
    java: findJava(`Kafka ${config.version}`, 17),
    libs: await kafkaLibs(layout.cacheDir, config.version),
    heap: config.heap,
    dir,
    dataDir,
    configFile: path.join(dir, 'server.properties'),
    logConfig: path.join(dir, 'log4j2.properties'),
    logFile: path.join(dir, 'kafka.log'),
    clusterId: id,
  };
  const node: KafkaNode = { nodeId: 1, port: config.port, controllerPort: config.controllerPort, voter: true };
  writeFileSync(launch.configFile, nodeProperties(node, [node], singleNodeSettings, dataDir));
  writeFileSync(launch.logConfig, log4j2);
  await formatStorage(launch);

  const owned = spawnBroker(launch);
  const bootstrap = `127.0.0.1:${config.port}`;
  try {
    await waitFor('Kafka', config.startTimeoutMs, async () => ((await kafkaReady(bootstrap)) ? true : undefined), () => isAlive(owned));
  } catch (error) {
    await stopProcess(owned, 5000);
    throw new TallyError('SERVICE_START', `Kafka did not start: ${(error as Error).message}; see ${launch.logFile}`, { cause: error });
  }
  return { ...owned, version: config.version, bootstrap, port: config.port, controllerPort: config.controllerPort, clusterId: id, dataDir, configFile: launch.configFile, logFile: launch.logFile, startedAt: new Date().toISOString() };
}

export async function stopKafka(state: KafkaState): Promise<void> {
  if (state.nodes) await stopKafkaCluster(state);
  else await stopProcess(state, 30_000);
}
