import { rmSync } from 'node:fs';
import path from 'node:path';
import { TallyError } from '../errors.js';
import { dropBootstrapSetting, ensureEsPortsFree, launchEsNode, startEsNode, waitEsNodes, type EsRuntime } from './elasticsearch-node.js';
import { esNodeCount, esNodes, esNodeUrl, type LocalElasticsearchConfig } from './elasticsearch-topology.js';
import { esPlace } from './elasticsearch-place.js';
import { findJava } from './java.js';
import type { ServicesLayout } from './layout.js';
import { isAlive, resumableService, serviceLiveness, stopProcess } from './process.js';
import { runAsUser } from './service-user.js';
import type { ElasticsearchNodeState, ElasticsearchState } from './state.js';

export { killElasticsearchNode, stopElasticsearchNode } from './elasticsearch-node.js';

export const elasticsearchLiveness = (state: ElasticsearchState | undefined) => serviceLiveness(state);
export const resumableElasticsearch = (state: ElasticsearchState | undefined) => resumableService(state);

/** An Elasticsearch of this checkout (running, or kept) has another node count than the configuration asks for. */
export function checkElasticsearchSize(state: ElasticsearchState, config: LocalElasticsearchConfig): void {
  const had = state.nodes?.length ?? 1;
  const wanted = esNodeCount(config);
  if (had !== wanted) {
    throw new TallyError('SERVICE_START', `the local Elasticsearch in ${path.dirname(state.dataDir)} has ${had} node(s) but services.elasticsearch.nodes is ${wanted}; use the same count, or stop it and drop its data first with \`tally services stop elasticsearch\` (without --keep-data)`);
  }
}

async function esRuntime(layout: ServicesLayout, config: LocalElasticsearchConfig): Promise<EsRuntime & { outsideDir?: string }> {
  const owner = runAsUser(config.user);
  const { home, runDir, outsideDir } = await esPlace(layout, config.version, owner);
  const [major, minor] = config.version.split('.').map(Number) as [number, number];
  // 8.18+ run on 17 or 21+; 9.x needs 21+
  const java = major >= 9 ? findJava(`Elasticsearch ${config.version}`, 21) : findJava(`Elasticsearch ${config.version}`, 17, major === 8 && minor >= 18 ? Number.MAX_SAFE_INTEGER : 23);
  return { home, java, owner, config, topology: esNodes(config), runDir, ...(outsideDir ? { outsideDir } : {}) };
}

/**
 * Start the local Elasticsearch: one node (services.elasticsearch.nodes 1) or a cluster whose nodes
 * are all master-eligible data nodes. With `previous`, reuse its data (a restart) and keep the nodes
 * still running; otherwise a fresh folder. Ready when the cluster is yellow or green with every node in it.
 */
export async function startElasticsearch(layout: ServicesLayout, config: LocalElasticsearchConfig, previous?: ElasticsearchState): Promise<ElasticsearchState> {
  if (previous) checkElasticsearchSize(previous, config);
  const runtime = await esRuntime(layout, config);
  if (!previous) rmSync(runtime.runDir, { recursive: true, force: true });
  const keptNodes = previous?.nodes ?? (previous ? [{ ...previous, nodeId: 1, name: runtime.topology[0]?.name ?? 'tally-es' }] : []);
  const toStart = runtime.topology.filter((node) => !isAlive(keptNodes.find((k) => k.nodeId === node.nodeId)));
  for (const node of toStart) await ensureEsPortsFree(node, runtime.topology.length);
  const started = new Map(toStart.map((node) => [node.nodeId, launchEsNode(runtime, node)]));
  const nodes: ElasticsearchNodeState[] = runtime.topology.map((node) => {
    const state = started.get(node.nodeId) ?? keptNodes.find((k) => k.nodeId === node.nodeId);
    if (!state) throw new Error(`no state for Elasticsearch node ${node.nodeId}`);
    return state as ElasticsearchNodeState;
  });
  try {
    await waitEsNodes(runtime, nodes);
  } catch (error) {
    await Promise.all([...started.values()].map((node) => stopProcess(node, 5000)));
    const logs = nodes.map((n) => n.logFile).join(', ');
    throw new TallyError('SERVICE_START', `Elasticsearch${nodes.length > 1 ? ` (${nodes.length} nodes)` : ''} did not start: ${(error as Error).message}; see ${logs} and the logs/ folder beside each`, { cause: error });
  }
  if (nodes.length > 1) for (const node of nodes) dropBootstrapSetting(node);
  const first = nodes[0] as ElasticsearchNodeState;
  return {
    pid: first.pid,
    startTicks: first.startTicks,
    version: config.version,
    url: nodes.map((n) => esNodeUrl(n)).join(','),
    httpPort: first.httpPort,
    transportPort: first.transportPort,
    home: runtime.home,
    dataDir: first.dataDir,
    confDir: first.confDir,
    logFile: first.logFile,
    user: runtime.owner?.name,
    ...(runtime.outsideDir ? { outsideDir: runtime.outsideDir } : {}),
    startedAt: new Date().toISOString(),
    ...(nodes.length > 1 ? { nodes } : {}),
  };
}

/** Start one node of a local cluster again on its data (after stopElasticsearchNode or killElasticsearchNode). */
export async function startElasticsearchNode(layout: ServicesLayout, config: LocalElasticsearchConfig, state: ElasticsearchState, nodeId: number): Promise<ElasticsearchNodeState> {
  return startEsNode(await esRuntime(layout, config), state, nodeId);
}

export async function stopElasticsearch(state: ElasticsearchState): Promise<void> {
  await Promise.all((state.nodes ?? [state]).map((node) => stopProcess(node, 30_000)));
}

