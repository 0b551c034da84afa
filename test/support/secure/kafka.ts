import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import { kafkaLibs } from '../../../pipeline/services/artifacts.js';
import { findJava } from '../../../pipeline/services/java.js';
import { clusterId, kafkaReady, log4j2, singleNodeSettings } from '../../../pipeline/services/kafka.js';
import { isAlive, spawnDetached, stopProcess, waitFor, type OwnedProcess } from '../../../pipeline/services/process.js';
import { servicesLayout } from '../../../pipeline/services/layout.js';
import { freePort, testConfig } from '../world.js';
import { createCa, createServerCertificate } from './certs.js';

export const secureKafkaVersion = '4.1.2';

export interface ScramUser {
  username: string;
  password: string;
  mechanism: 'scram-sha-512' | 'scram-sha-256';
}

/** A single-node KRaft broker whose only client listener is SASL_SSL, for one test file. */
export interface SecureKafka {
  bootstrap: string;
  /** the CA that signed the broker certificate */
  caFile: string;
  /** a CA the broker certificate does not chain to */
  untrustedCaFile: string;
  sha512: ScramUser;
  sha256: ScramUser;
  dir: string;
  logFile: string;
  stop(): Promise<void>;
}

const secret = (): string => randomBytes(12).toString('hex');

function jaas(user: { username: string; password: string }): string {
  return `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user.username}" password="${user.password}";`;
}

function properties(port: number, controllerPort: number, dataDir: string, keystore: string, caFile: string, broker: { username: string; password: string }): string {
  const host = '127.0.0.1';
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${host}:${controllerPort}
listeners=SASL_SSL://${host}:${port},CONTROLLER://${host}:${controllerPort}
advertised.listeners=SASL_SSL://${host}:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${jaas(broker)}
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${jaas(broker)}
ssl.keystore.type=PEM
ssl.keystore.location=${keystore}
ssl.truststore.type=PEM
ssl.truststore.location=${caFile}
ssl.client.auth=none
log.dirs=${dataDir}
${singleNodeSettings}`;
}

function securedReady(bootstrap: string, caFile: string, user: ScramUser): Promise<boolean> {
  return kafkaReady(bootstrap, 3000, {
    ssl: { ca: [readFileSync(caFile, 'utf8')] },
    sasl: { mechanism: user.mechanism, username: user.username, password: user.password } as kafkajs.SASLOptions,
  });
}

/** Certificates made with openssl, SCRAM users written at storage format time, ports free now. */
export async function startSecureKafka(startTimeoutMs = 90_000): Promise<SecureKafka> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h-sec-kafka-'));
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir);
  const ca = createCa(dir, 'test-ca');
  const other = createCa(dir, 'other-ca');
  const server = createServerCertificate(dir, 'broker', ca);
  const broker = { username: 'broker', password: secret() };
  const sha512: ScramUser = { username: 'tally', password: secret(), mechanism: 'scram-sha-512' };
  const sha256: ScramUser = { username: 'tally256', password: secret(), mechanism: 'scram-sha-256' };
  const [port, controllerPort] = [await freePort(), await freePort()];
  const configFile = path.join(dir, 'server.properties');
  const logConfig = path.join(dir, 'log4j2.properties');
  writeFileSync(configFile, properties(port, controllerPort, dataDir, server.keystoreFile, ca.caFile, broker));
  writeFileSync(logConfig, log4j2);
  const libs = await kafkaLibs(servicesLayout(testConfig().services).cacheDir, secureKafkaVersion);
  const java = findJava(`Kafka ${secureKafkaVersion}`, 17);
  const jvm = [`-Dlog4j2.configurationFile=${logConfig}`, '-XX:TieredStopAtLevel=1', '-cp', `${libs}/*`];
  const scram = (mechanism: string, user: { username: string; password: string }): string[] => ['--add-scram', `${mechanism}=[name=${user.username},password=${user.password}]`];
  execFileSync(java.java, [...jvm, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId()}`, '-c', configFile, ...scram('SCRAM-SHA-512', broker), ...scram('SCRAM-SHA-512', sha512), ...scram('SCRAM-SHA-256', sha256)], { stdio: 'pipe' });
  const logFile = path.join(dir, 'kafka.log');
  const owned: OwnedProcess = spawnDetached(java.java, ['-Xms256m', '-Xmx256m', '-XX:+UseSerialGC', '-Djava.awt.headless=true', ...jvm, 'kafka.Kafka', configFile], { logFile, cwd: dir });
  const bootstrap = `127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await stopProcess(owned, 15_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('secured Kafka', startTimeoutMs, async () => ((await securedReady(bootstrap, ca.caFile, sha512)) ? true : undefined), () => isAlive(owned));
  } catch (error) {
    await stopProcess(owned, 5000);
    throw new Error(`${(error as Error).message}; see ${logFile}`, { cause: error });
  }
  return { bootstrap, caFile: ca.caFile, untrustedCaFile: other.caFile, sha512, sha256, dir, logFile, stop };
}
