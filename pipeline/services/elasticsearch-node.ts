import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../errors.js';
import { clusterHealthy } from '../elasticsearch/capabilities.js';
import { esNodeUrl, type EsNode, type LocalElasticsearchConfig } from './elasticsearch-topology.js';
import type { JavaRuntime } from './java.js';
import { isAlive, portInUse, signalProcess, spawnDetached, stopProcess, waitFor } from './process.js';
import { assertTraversable, chownTree, type RunAs } from './service-user.js';
import type { ElasticsearchNodeState, ElasticsearchState } from './state.js';

/** What every node of the local Elasticsearch starts from. */
export interface EsRuntime {
  home: string;
  java: JavaRuntime;
  owner: RunAs | undefined;
  config: LocalElasticsearchConfig;
  topology: EsNode[];
  /** run/elasticsearch: the node's folder itself, or node-<n>/ below it in a cluster */
  runDir: string;
}

/** Written on a cluster's first start only: a node that keeps it after the cluster formed would bootstrap a new one if its data went. */
const bootstrapKey = 'cluster.initial_master_nodes';

function nodeSettings(runtime: EsRuntime, node: EsNode, dataDir: string, logsDir: string): string {
  const all = runtime.topology;
  const discovery =
    all.length === 1
      ? ['discovery.type: single-node']
      : [`discovery.seed_hosts: [${all.map((n) => `"127.0.0.1:${n.transportPort}"`).join(', ')}]`, `${bootstrapKey}: [${all.map((n) => `"${n.name}"`).join(', ')}]`];
  return [
    'cluster.name: tally-local',
    `node.name: ${node.name}`,
    ...discovery,
    'network.host: 127.0.0.1',
    `http.port: ${node.httpPort}`,
    `transport.port: ${node.transportPort}`,
    `path.data: ${dataDir}`,
    `path.logs: ${logsDir}`,
    // the security module is part of this build: turn it off explicitly, or it would auto-configure TLS and passwords
    ...(existsSync(path.join(runtime.home, 'modules', 'x-pack-security')) ? ['xpack.security.enabled: false'] : []),
    'cluster.routing.allocation.disk.threshold_enabled: false',
    'action.destructive_requires_name: false',
    'node.store.allow_mmap: false',
    '',
  ].join('\n');
}

export const esNodeDir = (runtime: EsRuntime, node: EsNode): string => (runtime.topology.length === 1 ? runtime.runDir : path.join(runtime.runDir, `node-${node.nodeId}`));

export async function ensureEsPortsFree(node: EsNode, nodeCount: number): Promise<void> {
  for (const port of [node.httpPort, node.transportPort]) {
    if (await portInUse(port)) {
      const which = nodeCount > 1 ? ` node ${node.nodeId}` : '';
      throw new TallyError('SERVICE_START', `cannot start Elasticsearch${which}: port ${port} on 127.0.0.1 is already in use by a process this checkout did not start; stop it or choose other ports (services.elasticsearch.httpPort / transportPort${nodeCount > 1 ? ': node n uses httpPort + 2(n-1) and transportPort + 2(n-1)' : ''})`);
    }
  }
}

/** Spawn one node on its folder (created, with its configuration, on the first start). */
export function launchEsNode(runtime: EsRuntime, node: EsNode): ElasticsearchNodeState {
  const dir = esNodeDir(runtime, node);
  const dataDir = path.join(dir, 'data');
  const logsDir = path.join(dir, 'logs');
  const confDir = path.join(dir, 'config');
  for (const folder of [dataDir, logsDir, path.join(dir, 'tmp')]) mkdirSync(folder, { recursive: true });
  if (!existsSync(confDir)) {
    cpSync(path.join(runtime.home, 'config'), confDir, { recursive: true });
    appendFileSync(path.join(confDir, 'elasticsearch.yml'), `\n${nodeSettings(runtime, node, dataDir, logsDir)}`);
  }
  const logFile = path.join(dir, 'elasticsearch.out');
  writeFileSync(logFile, '');
  if (runtime.owner) {
    assertTraversable(runtime.home, runtime.owner);
    assertTraversable(dir, runtime.owner);
    chownTree(dir, runtime.owner);
  }
  const owned = spawnDetached(path.join(runtime.home, 'bin', 'elasticsearch'), [], {
    logFile,
    cwd: dir,
    ...(runtime.owner ? { uid: runtime.owner.uid, gid: runtime.owner.gid } : {}),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ES_JAVA_HOME: runtime.java.home,
      ES_JAVA_OPTS: `-Xms${runtime.config.heap} -Xmx${runtime.config.heap}`,
      ES_PATH_CONF: confDir,
      ES_TMPDIR: path.join(dir, 'tmp'),
    },
  });
  return { ...owned, nodeId: node.nodeId, name: node.name, url: esNodeUrl(node), httpPort: node.httpPort, transportPort: node.transportPort, dataDir, confDir, logFile, startedAt: new Date().toISOString() };
}

/** Until the cluster, asked through any of the nodes, is yellow or green with all of them in it. */
export async function waitEsNodes(runtime: EsRuntime, nodes: ElasticsearchNodeState[]): Promise<void> {
  const what = nodes.length > 1 ? `Elasticsearch (${nodes.length} nodes)` : 'Elasticsearch';
  await waitFor(
    what,
    runtime.config.startTimeoutMs,
    async () => {
      for (const node of nodes) if (isAlive(node) && (await clusterHealthy(node.url, {}, 2000, nodes.length))) return true;
      return undefined;
    },
    () => nodes.every((node) => isAlive(node)),
  );
}

/** Once the cluster formed, its nodes must not bootstrap again: drop cluster.initial_master_nodes from their configuration. */
export function dropBootstrapSetting(node: ElasticsearchNodeState): void {
  const file = path.join(node.confDir, 'elasticsearch.yml');
  const text = readFileSync(file, 'utf8');
  const kept = text
    .split('\n')
    .filter((line) => !line.startsWith(`${bootstrapKey}:`))
    .join('\n');
  if (kept !== text) writeFileSync(file, kept);
}

/**
 * One node of a local Elasticsearch cluster: start it again on its data, stop it, or kill it (the
 * fault tests). Each call updates the node in `state`; the caller saves it.
 */
export function elasticsearchNode(state: ElasticsearchState, nodeId: number): ElasticsearchNodeState {
  const node = state.nodes?.find((n) => n.nodeId === nodeId);
  if (!node) throw new TallyError('USAGE', `the local Elasticsearch has no node ${nodeId}; its nodes are ${(state.nodes ?? []).map((n) => n.nodeId).join(', ') || 'none (a single node)'}`);
  return node;
}

function syncNodeOne(state: ElasticsearchState): void {
  const first = state.nodes?.[0];
  if (first) Object.assign(state, { pid: first.pid, startTicks: first.startTicks });
}

/** Start one stopped (or killed) node on its data and wait until it is in the cluster again. */
export async function startEsNode(runtime: EsRuntime, state: ElasticsearchState, nodeId: number): Promise<ElasticsearchNodeState> {
  const node = elasticsearchNode(state, nodeId);
  if (isAlive(node)) return node;
  const spec = runtime.topology.find((n) => n.nodeId === nodeId);
  if (!spec) throw new TallyError('USAGE', `services.elasticsearch.nodes has no node ${nodeId}`);
  await ensureEsPortsFree(spec, runtime.topology.length);
  Object.assign(node, launchEsNode(runtime, spec));
  syncNodeOne(state);
  try {
    await waitEsNodes(runtime, [node, ...(state.nodes ?? []).filter((n) => n !== node)].slice(0, runtime.topology.length));
  } catch (error) {
    await stopProcess(node, 5000);
    throw new TallyError('SERVICE_START', `Elasticsearch node ${nodeId} did not rejoin the cluster: ${(error as Error).message}; see ${node.logFile}`, { cause: error });
  }
  return node;
}

/** SIGTERM (a clean shutdown), keeping the node's data. */
export async function stopElasticsearchNode(state: ElasticsearchState, nodeId: number): Promise<void> {
  await stopProcess(elasticsearchNode(state, nodeId), 30_000);
}

/** SIGKILL: the node dies without a word; resolves once it is gone. Its data stays for startElasticsearchNode. */
export async function killElasticsearchNode(state: ElasticsearchState, nodeId: number): Promise<void> {
  const node = elasticsearchNode(state, nodeId);
  signalProcess(node, 'SIGKILL');
  while (isAlive(node)) await sleep(50);
}
