import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@elastic/elasticsearch';
import { esClient, testConfig, uniqueName } from '../support/world.js';
import { startEsProxy, type EsProxy } from './es-proxy.js';
import { seededRandom } from './input.js';

/** The fault proxy tells the truth: an item it answers 429 was not indexed, every other one was. */
describe('the Elasticsearch fault proxy', () => {
  let proxy: EsProxy | undefined;
  const direct = esClient();
  after(async () => {
    await proxy?.close();
    await direct.close();
  });

  test('while faulty, a bulk is refused 503 whole or has some items refused 429, and exactly the items answered 2xx are in the index', async () => {
    proxy = await startEsProxy(testConfig().elasticsearch.url, seededRandom(7));
    const client = new Client({ node: proxy.url, maxRetries: 0 });
    const index = uniqueName('tally-faults-proxy');
    try {
      proxy.setFaulty(true);
      const indexed = new Set<string>();
      let refused503 = 0;
      let refused429 = 0;
      for (let round = 0; round < 6; round++) {
        const operations = Array.from({ length: 20 }, (_, i) => [{ index: { _index: index, _id: `${round}-${i}` } }, { n: i }]).flat();
        try {
          const response = await client.bulk({ operations });
          for (const item of response.items) {
            const result = item.index;
            if (result && result.status < 300) indexed.add(String(result._id));
            else {
              assert.equal(result?.status, 429);
              assert.equal(result?.error?.type, 'es_rejected_execution_exception');
              refused429 += 1;
            }
          }
        } catch (error) {
          assert.equal((error as { statusCode?: number }).statusCode, 503);
          refused503 += 1;
        }
      }
      assert.ok(refused503 > 0 && refused429 > 0, `both refusals happened (${refused503} bulks 503, ${refused429} items 429)`);
      proxy.setFaulty(false);
      const clean = await client.bulk({ operations: [{ index: { _index: index, _id: 'clean' } }, { n: -1 }], refresh: true });
      assert.equal(clean.errors, false, 'healthy again, the proxy passes bulks through');
      indexed.add('clean');
      const stored = await direct.search({ index, size: 1000, _source: false });
      assert.deepEqual(new Set(stored.hits.hits.map((h) => h._id)), indexed, 'Elasticsearch holds exactly the items answered 2xx');
    } finally {
      await direct.indices.delete({ index, ignore_unavailable: true }).catch(() => undefined);
      await client.close();
    }
  });
});
