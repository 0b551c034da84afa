import { execFileSync } from 'node:child_process';
import { lchownSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { TallyError } from '../errors.js';
import type { ServicesConfig } from '../config/types.js';
import { clusterHealthy } from '../elasticsearch/capabilities.js';
import { elasticsearchHome } from './artifacts.js';
import { findJava } from './java.js';
import type { ServicesLayout } from './layout.js';
import { isAlive, portInUse, spawnDetached, stopProcess, waitFor } from './process.js';
import type { ElasticsearchState } from './state.js';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

/** Elasticsearch refuses to run as root; create (once) and use a system user instead. */
export function runAsUser(name: string): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = (): RunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { name, uid, gid };
    } catch {
      return undefined;
    }
  };
  const existing = lookup();
  if (existing) return existing;
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { stdio: 'pipe' });
  } catch (error) {
    throw new TallyError('SERVICE_START', `Elasticsearch cannot run as root and user ${name} could not be created: ${String((error as { stderr?: Buffer }).stderr ?? error)}`);
  }
  const created = lookup();
  if (!created) throw new TallyError('SERVICE_START', `user ${name} was created but cannot be looked up`);
  return created;
}

export function chownTree(dir: string, owner: RunAs): void {
  lchownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    lchownSync(path.join(dir, entry), owner.uid, owner.gid);
  }
}

/** Every folder above `dir` must be traversable by the service user. */
export function assertTraversable(dir: string, owner: RunAs | undefined): void {
  if (!owner) return;
  let current = path.dirname(dir);
  while (current !== path.dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      throw new TallyError('SERVICE_START', `Elasticsearch runs as ${owner.name}, who cannot enter ${current} (mode ${(mode & 0o777).toString(8)}); chmod o+x it or move services.dir`);
    }
    current = path.dirname(current);
  }
}

function nodeSettings(config: ServicesConfig['elasticsearch'], dataDir: string, logsDir: string, securityModule: boolean): string {
  return [
    'cluster.name: tally-local',
    'node.name: tally-es',
    'discovery.type: single-node',
    'network.host: 127.0.0.1',
    `http.port: ${config.httpPort}`,
    `transport.port: ${config.transportPort}`,
    `path.data: ${dataDir}`,
    `path.logs: ${logsDir}`,
    // the security module is part of this build: turn it off explicitly, or it would auto-configure TLS and passwords
    ...(securityModule ? ['xpack.security.enabled: false'] : []),
    'cluster.routing.allocation.disk.threshold_enabled: false',
    'action.destructive_requires_name: false',
    'node.store.allow_mmap: false',
    '',
  ].join('\n');
}

export async function startElasticsearch(layout: ServicesLayout, config: ServicesConfig['elasticsearch'], previous?: ElasticsearchState): Promise<ElasticsearchState> {
  for (const port of [config.httpPort, config.transportPort]) {
    if (await portInUse(port)) throw new TallyError('SERVICE_START', `cannot start Elasticsearch: port ${port} on 127.0.0.1 is already in use by a process this checkout did not start; stop it or choose other ports (services.elasticsearch.httpPort / transportPort)`);
  }
  const home = await elasticsearchHome(layout.cacheDir, config.version);
  const [major, minor] = config.version.split('.').map(Number) as [number, number];
  // 8.18+ run on 17 or 21+; 9.x needs 21+
  const java = major >= 9 ? findJava(`Elasticsearch ${config.version}`, 21) : findJava(`Elasticsearch ${config.version}`, 17, major === 8 && minor >= 18 ? Number.MAX_SAFE_INTEGER : 23);
  const owner = runAsUser(config.user);
  const dir = path.join(layout.runDir, 'elasticsearch');
  if (!previous) rmSync(dir, { recursive: true, force: true });
  const dataDir = path.join(dir, 'data');
  const logsDir = path.join(dir, 'logs');
  const confDir = path.join(dir, 'config');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(logsDir, { recursive: true });
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  if (!existsSync(confDir)) {
    cpSync(path.join(home, 'config'), confDir, { recursive: true });
    appendFileSync(path.join(confDir, 'elasticsearch.yml'), `\n${nodeSettings(config, dataDir, logsDir, existsSync(path.join(home, 'modules', 'x-pack-security')))}`);
  }
  const logFile = path.join(dir, 'elasticsearch.out');
  writeFileSync(logFile, '');
  if (owner) {
    assertTraversable(home, owner);
    assertTraversable(dir, owner);
    chownTree(dir, owner);
  }
  const owned = spawnDetached(path.join(home, 'bin', 'elasticsearch'), [], {
    logFile,
    cwd: dir,
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ES_JAVA_HOME: java.home,
      ES_JAVA_OPTS: `-Xms${config.heap} -Xmx${config.heap}`,
      ES_PATH_CONF: confDir,
      ES_TMPDIR: path.join(dir, 'tmp'),
    },
  });
  const url = `http://127.0.0.1:${config.httpPort}`;
  try {
    await waitFor('Elasticsearch', config.startTimeoutMs, async () => ((await clusterHealthy(url)) ? true : undefined), () => isAlive(owned));
  } catch (error) {
    await stopProcess(owned, 5000);
    throw new TallyError('SERVICE_START', `Elasticsearch did not start: ${(error as Error).message}; see ${logFile} and ${logsDir}`, { cause: error });
  }
  return { ...owned, version: config.version, url, httpPort: config.httpPort, transportPort: config.transportPort, home, dataDir, confDir, logFile, user: owner?.name, startedAt: new Date().toISOString() };
}

export async function stopElasticsearch(state: ElasticsearchState): Promise<void> {
  await stopProcess(state, 30_000);
}
