import { fromAnyNode } from './nodes.js';

/** What the Elasticsearch node can do, read from its module list (the integ-test build lacks most modules). */
export interface EsCapabilities {
  version: string;
  modules: string[];
  dataStreams: boolean;
  ilm: boolean;
  ingestProcessors: boolean;
  security: boolean;
  painless: boolean;
  reindex: boolean;
}

export const capabilityModules: Record<Exclude<keyof EsCapabilities, 'version' | 'modules'>, string> = {
  dataStreams: 'data-streams',
  ilm: 'x-pack-ilm',
  ingestProcessors: 'ingest-common',
  security: 'x-pack-security',
  painless: 'lang-painless',
  reindex: 'reindex',
};

interface NodesPluginsResponse {
  nodes?: Record<string, { version?: string; modules?: { name: string }[]; plugins?: { name: string }[] }>;
}

export function capabilitiesFrom(response: NodesPluginsResponse): EsCapabilities {
  const node = Object.values(response.nodes ?? {})[0];
  const modules = [...(node?.modules ?? []), ...(node?.plugins ?? [])].map((m) => m.name).sort();
  const has = (name: string): boolean => modules.includes(name);
  return {
    version: node?.version ?? 'unknown',
    modules,
    dataStreams: has(capabilityModules.dataStreams),
    ilm: has(capabilityModules.ilm),
    ingestProcessors: has(capabilityModules.ingestProcessors),
    security: has(capabilityModules.security),
    painless: has(capabilityModules.painless),
    reindex: has(capabilityModules.reindex),
  };
}

/** GET / is missing from the integ-test build, so the version and modules come from the nodes API (of the first node that answers). */
export async function probeCapabilities(url: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<EsCapabilities> {
  return fromAnyNode(url, async (nodeUrl) => {
    const response = await fetch(new URL('/_nodes/_local/plugins?filter_path=nodes.*.version,nodes.*.modules.name,nodes.*.plugins.name', nodeUrl), {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`GET _nodes/_local/plugins answered ${response.status}`);
    return capabilitiesFrom((await response.json()) as NodesPluginsResponse);
  });
}

/** The cluster behind `url` (any of its nodes) is yellow or green with at least `minNodes` nodes in it. */
export async function clusterHealthy(url: string, headers: Record<string, string> = {}, timeoutMs = 2000, minNodes = 1): Promise<boolean> {
  try {
    return await fromAnyNode(url, async (nodeUrl) => {
      const response = await fetch(new URL('/_cluster/health?wait_for_status=yellow&timeout=1s', nodeUrl), { headers, signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`GET _cluster/health answered ${response.status}`);
      const body = (await response.json()) as { status?: string; number_of_nodes?: number };
      if ((body.status === 'yellow' || body.status === 'green') && (body.number_of_nodes ?? 1) >= minNodes) return true;
      throw new Error(`cluster ${body.status ?? 'unknown'} with ${body.number_of_nodes ?? '?'} node(s)`);
    });
  } catch {
    return false;
  }
}
