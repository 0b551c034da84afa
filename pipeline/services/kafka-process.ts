import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TallyError } from '../errors.js';
import type { JavaRuntime } from './java.js';
import { spawnDetached, type OwnedProcess } from './process.js';

const run = promisify(execFile);

/** What one broker JVM runs from: the same for the single broker and every node of a cluster. */
export interface BrokerLaunch {
  java: JavaRuntime;
  libs: string;
  heap: string;
  /** the node's folder: its server.properties, log file and working directory */
  dir: string;
  dataDir: string;
  configFile: string;
  logConfig: string;
  logFile: string;
  clusterId: string;
}

/** Same format as Kafka's Uuid.toString(); a leading '-' would be read as a flag. */
export function clusterId(): string {
  let id: string;
  do id = randomBytes(16).toString('base64url');
  while (id.startsWith('-'));
  return id;
}

const jvmLog = (launch: BrokerLaunch): string => `-Dlog4j2.configurationFile=${launch.logConfig}`;

/** Format the node's storage with the cluster id unless it already holds a formatted log folder. */
export async function formatStorage(launch: BrokerLaunch): Promise<void> {
  if (existsSync(path.join(launch.dataDir, 'meta.properties'))) return;
  try {
    await run(launch.java.java, [jvmLog(launch), '-cp', `${launch.libs}/*`, 'kafka.tools.StorageTool', 'format', `--cluster-id=${launch.clusterId}`, '-c', launch.configFile, '--ignore-formatted']);
  } catch (error) {
    throw new TallyError('SERVICE_START', `formatting Kafka storage in ${launch.dataDir} failed: ${String((error as { stderr?: string }).stderr ?? error)}`, { cause: error });
  }
}

export function spawnBroker(launch: BrokerLaunch): OwnedProcess {
  return spawnDetached(launch.java.java, [`-Xms${launch.heap}`, `-Xmx${launch.heap}`, '-XX:+UseG1GC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', jvmLog(launch), '-cp', `${launch.libs}/*`, 'kafka.Kafka', launch.configFile], { logFile: launch.logFile, cwd: launch.dir });
}
