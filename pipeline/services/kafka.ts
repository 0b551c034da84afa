import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { TallyError } from '../errors.js';
import type { ServicesConfig } from '../config/types.js';
import { kafkaLibs } from './artifacts.js';
import { findJava } from './java.js';
import type { ServicesLayout } from './layout.js';
import { isAlive, portInUse, spawnDetached, stopProcess, waitFor } from './process.js';
import type { KafkaState } from './state.js';

export const log4j2 = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = info
`;

/** What a one-node, replication-1 broker on a small machine needs, whatever its listeners. */
export const singleNodeSettings = `num.partitions=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
`;

function serverProperties(config: ServicesConfig['kafka'], dataDir: string): string {
  const host = '127.0.0.1';
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${host}:${config.controllerPort}
listeners=PLAINTEXT://${host}:${config.port},CONTROLLER://${host}:${config.controllerPort}
advertised.listeners=PLAINTEXT://${host}:${config.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dataDir}
${singleNodeSettings}log.flush.interval.messages=9223372036854775807
`;
}

/** Same format as Kafka's Uuid.toString(); a leading '-' would be read as a flag. */
export function clusterId(): string {
  let id: string;
  do id = randomBytes(16).toString('base64url');
  while (id.startsWith('-'));
  return id;
}

/** Whether a broker answers with a cluster and a controller; `security` adds a secured listener's ssl/sasl. */
export async function kafkaReady(bootstrap: string, timeoutMs = 2000, security: Pick<kafkajs.KafkaConfig, 'ssl' | 'sasl'> = {}): Promise<boolean> {
  const client = new kafkajs.Kafka({ brokers: [bootstrap], clientId: 'tally-probe', logLevel: kafkajs.logLevel.NOTHING, connectionTimeout: timeoutMs, requestTimeout: timeoutMs, retry: { retries: 0 }, ...security });
  const admin = client.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Start the broker. With `previous`, reuse its data folder and cluster id (a restart); otherwise a fresh folder. */
export async function startKafka(layout: ServicesLayout, config: ServicesConfig['kafka'], previous?: KafkaState): Promise<KafkaState> {
  for (const port of [config.port, config.controllerPort]) {
    if (await portInUse(port)) throw new TallyError('SERVICE_START', `cannot start Kafka: port ${port} on 127.0.0.1 is already in use by a process this checkout did not start; stop it or choose other ports (services.kafka.port / controllerPort)`);
  }
  const libs = await kafkaLibs(layout.cacheDir, config.version);
  const java = findJava(`Kafka ${config.version}`, 17);
  const dir = path.join(layout.runDir, 'kafka');
  const dataDir = previous?.dataDir ?? path.join(dir, 'data');
  const id = previous?.clusterId ?? clusterId();
  if (!previous) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const configFile = path.join(dir, 'server.properties');
  const logConfig = path.join(dir, 'log4j2.properties');
  writeFileSync(configFile, serverProperties(config, dataDir));
  writeFileSync(logConfig, log4j2);
  const logFile = path.join(dir, 'kafka.log');
  const classpath = `${libs}/*`;
  const jvmLog = `-Dlog4j2.configurationFile=${logConfig}`;

  if (!existsSync(path.join(dataDir, 'meta.properties'))) {
    const { execFileSync } = await import('node:child_process');
    try {
      execFileSync(java.java, [jvmLog, '-cp', classpath, 'kafka.tools.StorageTool', 'format', `--cluster-id=${id}`, '-c', configFile, '--ignore-formatted'], { stdio: 'pipe' });
    } catch (error) {
      throw new TallyError('SERVICE_START', `formatting Kafka storage in ${dataDir} failed: ${String((error as { stderr?: Buffer }).stderr ?? error)}`, { cause: error });
    }
  }

  const owned = spawnDetached(java.java, [`-Xms${config.heap}`, `-Xmx${config.heap}`, '-XX:+UseG1GC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', jvmLog, '-cp', classpath, 'kafka.Kafka', configFile], { logFile, cwd: dir });
  const bootstrap = `127.0.0.1:${config.port}`;
  try {
    await waitFor('Kafka', config.startTimeoutMs, async () => ((await kafkaReady(bootstrap)) ? true : undefined), () => isAlive(owned));
  } catch (error) {
    await stopProcess(owned, 5000);
    throw new TallyError('SERVICE_START', `Kafka did not start: ${(error as Error).message}; see ${logFile}`, { cause: error });
  }
  return { ...owned, version: config.version, bootstrap, port: config.port, controllerPort: config.controllerPort, clusterId: id, dataDir, configFile, logFile, startedAt: new Date().toISOString() };
}

export async function stopKafka(state: KafkaState): Promise<void> {
  await stopProcess(state, 30_000);
}
