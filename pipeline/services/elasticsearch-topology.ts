import type { ServicesConfig } from '../config/types.js';

export type LocalElasticsearchConfig = ServicesConfig['elasticsearch'];

/** One node of the local Elasticsearch: its name in the cluster and its two ports. */
export interface EsNode {
  nodeId: number;
  name: string;
  httpPort: number;
  transportPort: number;
}

export const esNodeCount = (config: LocalElasticsearchConfig): number => config.nodes ?? 1;

/** Node n (1..N): HTTP port `httpPort + 2(n-1)`, transport port `transportPort + 2(n-1)`, as the Kafka nodes. */
export function esNodes(config: LocalElasticsearchConfig): EsNode[] {
  const count = esNodeCount(config);
  return Array.from({ length: count }, (_, i) => ({
    nodeId: i + 1,
    name: count === 1 ? 'tally-es' : `tally-es-${i + 1}`,
    httpPort: config.httpPort + 2 * i,
    transportPort: config.transportPort + 2 * i,
  }));
}

export const esNodeUrl = (node: Pick<EsNode, 'httpPort'>): string => `http://127.0.0.1:${node.httpPort}`;

/** Every local node's URL, comma-separated: the default `elasticsearch.url`. */
export function localElasticsearchUrl(config: LocalElasticsearchConfig): string {
  return esNodes(config).map(esNodeUrl).join(',');
}
