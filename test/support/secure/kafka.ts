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
import { makeCertificates } from '../certs.js';
import { encryptKey } from './certs.js';

export const secureKafkaVersion = '4.1.2';

export interface SaslUser {
  username: string;
  password: string;
  mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain';
}

export interface ClientCertificate {
  certFile: string;
  keyFile: string;
}

/**
 * A single-node KRaft broker for one test file with two client listeners, both TLS: SASL_SSL
 * (SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN) and SSL that requires a client certificate.
 */
export interface SecureKafka {
  /** the SASL_SSL listener */
  bootstrap: string;
  /** the SSL listener with ssl.client.auth=required */
  mtlsBootstrap: string;
  /** the CA that signed the broker certificate and the client certificates the broker accepts */
  caFile: string;
  /** a CA the broker certificate does not chain to, and the broker does not trust */
  untrustedCaFile: string;
  sha512: SaslUser;
  sha256: SaslUser;
  plain: SaslUser;
  /** signed by caFile */
  client: ClientCertificate;
  /** the same certificate with its key encrypted (PKCS#8, AES-256) under keyPassword */
  encryptedClient: ClientCertificate & { keyPassword: string };
  /** signed by untrustedCaFile */
  untrustedClient: ClientCertificate;
  dir: string;
  logFile: string;
  stop(): Promise<void>;
}

const secret = (): string => randomBytes(12).toString('hex');

function jaas(user: { username: string; password: string }): string {
  return `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user.username}" password="${user.password}";`;
}

/** PLAIN users live in the JAAS line itself (user_<name>="<password>"). */
function plainJaas(broker: { username: string; password: string }, users: SaslUser[]): string {
  const entries = [broker, ...users].map((user) => `user_${user.username}="${user.password}"`).join(' ');
  return `org.apache.kafka.common.security.plain.PlainLoginModule required username="${broker.username}" password="${broker.password}" ${entries};`;
}

interface Ports {
  sasl: number;
  mtls: number;
  controller: number;
}

function properties(ports: Ports, dataDir: string, keystore: string, caFile: string, broker: { username: string; password: string }, plain: SaslUser): string {
  const host = '127.0.0.1';
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${host}:${ports.controller}
listeners=SASL_SSL://${host}:${ports.sasl},SSL://${host}:${ports.mtls},CONTROLLER://${host}:${ports.controller}
advertised.listeners=SASL_SSL://${host}:${ports.sasl},SSL://${host}:${ports.mtls}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${jaas(broker)}
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${jaas(broker)}
listener.name.sasl_ssl.plain.sasl.jaas.config=${plainJaas(broker, [plain])}
ssl.keystore.type=PEM
ssl.keystore.location=${keystore}
ssl.truststore.type=PEM
ssl.truststore.location=${caFile}
ssl.client.auth=none
listener.name.ssl.ssl.client.auth=required
log.dirs=${dataDir}
${singleNodeSettings}`;
}

function securedReady(bootstrap: string, caFile: string, user: SaslUser): Promise<boolean> {
  return kafkaReady(bootstrap, 3000, {
    ssl: { ca: [readFileSync(caFile, 'utf8')] },
    sasl: { mechanism: user.mechanism, username: user.username, password: user.password } as kafkajs.SASLOptions,
  });
}

/** Certificates made with openssl, SCRAM users written at storage format time, PLAIN users in the JAAS line, ports free now. */
export async function startSecureKafka(startTimeoutMs = 90_000): Promise<SecureKafka> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h-sec-kafka-'));
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir);
  const certs = makeCertificates();
  const keystore = path.join(dir, 'broker-keystore.pem');
  writeFileSync(keystore, [certs.serverKey, certs.serverCert, certs.ca].map((file) => readFileSync(file, 'utf8')).join(''));
  const keyPassword = secret();
  const encryptedClient = { certFile: certs.clientCert, keyFile: encryptKey(certs.clientKey, keyPassword), keyPassword };
  const broker = { username: 'broker', password: secret() };
  const sha512: SaslUser = { username: 'tally', password: secret(), mechanism: 'scram-sha-512' };
  const sha256: SaslUser = { username: 'tally256', password: secret(), mechanism: 'scram-sha-256' };
  const plain: SaslUser = { username: 'tallyplain', password: secret(), mechanism: 'plain' };
  const ports: Ports = { sasl: await freePort(), mtls: await freePort(), controller: await freePort() };
  const configFile = path.join(dir, 'server.properties');
  const logConfig = path.join(dir, 'log4j2.properties');
  writeFileSync(configFile, properties(ports, dataDir, keystore, certs.ca, broker, plain));
  writeFileSync(logConfig, log4j2);
  const libs = await kafkaLibs(servicesLayout(testConfig().services).cacheDir, secureKafkaVersion);
  const java = findJava(`Kafka ${secureKafkaVersion}`, 17);
  const jvm = [`-Dlog4j2.configurationFile=${logConfig}`, '-XX:TieredStopAtLevel=1', '-cp', `${libs}/*`];
  const scram = (mechanism: string, user: { username: string; password: string }): string[] => ['--add-scram', `${mechanism}=[name=${user.username},password=${user.password}]`];
  execFileSync(java.java, [...jvm, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId()}`, '-c', configFile, ...scram('SCRAM-SHA-512', broker), ...scram('SCRAM-SHA-512', sha512), ...scram('SCRAM-SHA-256', sha256)], { stdio: 'pipe' });
  const logFile = path.join(dir, 'kafka.log');
  const owned: OwnedProcess = spawnDetached(java.java, ['-Xms256m', '-Xmx256m', '-XX:+UseSerialGC', '-Djava.awt.headless=true', ...jvm, 'kafka.Kafka', configFile], { logFile, cwd: dir });
  const bootstrap = `127.0.0.1:${ports.sasl}`;
  const stop = async (): Promise<void> => {
    await stopProcess(owned, 15_000);
    rmSync(dir, { recursive: true, force: true });
    certs.remove();
  };
  try {
    await waitFor('secured Kafka', startTimeoutMs, async () => ((await securedReady(bootstrap, certs.ca, sha512)) ? true : undefined), () => isAlive(owned));
  } catch (error) {
    await stopProcess(owned, 5000);
    throw new Error(`${(error as Error).message}; see ${logFile}`, { cause: error });
  }
  return {
    bootstrap,
    mtlsBootstrap: `127.0.0.1:${ports.mtls}`,
    caFile: certs.ca,
    untrustedCaFile: certs.otherCa,
    sha512,
    sha256,
    plain,
    client: { certFile: certs.clientCert, keyFile: certs.clientKey },
    encryptedClient,
    untrustedClient: { certFile: certs.otherClientCert, keyFile: certs.otherClientKey },
    dir,
    logFile,
    stop,
  };
}
