import type { ElasticsearchConfig } from '../config/types.js';
import { probeCapabilities, type EsCapabilities } from './capabilities.js';
import { authHeaders, createEsClient } from './client.js';

/** Index one document with a deterministic id, search it back, delete the index: proves the cluster takes writes. */
export async function checkElasticsearchRoundTrip(config: ElasticsearchConfig): Promise<{ index: string; took: number; capabilities: EsCapabilities }> {
  const client = createEsClient(config);
  const index = `${config.indexPrefix}up-check`;
  const started = Date.now();
  try {
    await client.index({ index, id: 'check', document: { checkedAt: new Date().toISOString() }, refresh: 'wait_for' });
    const found = await client.search({ index, query: { ids: { values: ['check'] } } });
    const total = typeof found.hits.total === 'number' ? found.hits.total : found.hits.total?.value;
    if (total !== 1) throw new Error(`expected to find the check document once in ${index}, found ${total}`);
    await client.indices.delete({ index });
    return { index, took: Date.now() - started, capabilities: await probeCapabilities(config.url, authHeaders(config)) };
  } finally {
    await client.close();
  }
}
