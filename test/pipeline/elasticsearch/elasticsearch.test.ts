import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitiesFrom } from '../../../pipeline/elasticsearch/capabilities.js';
import { checkElasticsearchRoundTrip } from '../../../pipeline/elasticsearch/round-trip.js';
import { esCapabilities, esClient, requireEsCapability, testConfig, uniqueName } from '../../support/world.js';

describe('the real Elasticsearch', { timeout: 120_000 }, () => {
  const client = esClient();
  const indices: string[] = [];
  after(async () => {
    if (indices.length) await client.indices.delete({ index: indices, ignore_unavailable: true }).catch(() => undefined);
    await client.close();
  });

  test('bulk-indexes with deterministic ids: a replay overwrites instead of doubling', async () => {
    const index = uniqueName('tally-test-docs');
    indices.push(index);
    await client.indices.create({ index, settings: { number_of_replicas: 0 }, mappings: { properties: { user: { type: 'keyword' }, value: { type: 'double' }, at: { type: 'date' } } } });
    const docs = [
      { id: 'a', user: 'alice', value: 1.5, at: '2026-11-01T00:00:00Z' },
      { id: 'b', user: 'bob', value: 2, at: '2026-11-02T00:00:00Z' },
      { id: 'c', user: 'alice', value: 4, at: '2026-11-03T00:00:00Z' },
    ];
    const operations = (values: typeof docs) => values.flatMap(({ id, ...doc }) => [{ index: { _index: index, _id: id } }, doc]);
    const first = await client.bulk({ operations: operations(docs), refresh: 'wait_for' });
    assert.equal(first.errors, false);
    const replay = await client.bulk({ operations: operations(docs.map((d) => (d.id === 'c' ? { ...d, value: 5 } : d))), refresh: 'wait_for' });
    assert.equal(replay.errors, false);

    const count = await client.count({ index });
    assert.equal(count.count, 3, 'replayed documents replaced the originals');
    const result = await client.search<{ user: string; value: number }>({
      index,
      size: 0,
      aggs: { per_user: { terms: { field: 'user' }, aggs: { total: { sum: { field: 'value' } } } } },
    });
    const buckets = (result.aggregations?.per_user as { buckets: { key: string; doc_count: number; total: { value: number } }[] }).buckets;
    assert.deepEqual(
      buckets.map((b) => [b.key, b.doc_count, b.total.value]),
      [
        ['alice', 2, 6.5],
        ['bob', 1, 2],
      ],
    );
  });

  test('a document that breaks the mapping is rejected per item with a reason', async () => {
    const index = uniqueName('tally-test-mapping');
    indices.push(index);
    await client.indices.create({ index, settings: { number_of_replicas: 0 }, mappings: { properties: { value: { type: 'double' } } } });
    const response = await client.bulk({ operations: [{ index: { _index: index, _id: 'good' } }, { value: 1 }, { index: { _index: index, _id: 'bad' } }, { value: 'not a number' }], refresh: 'wait_for' });
    assert.equal(response.errors, true);
    const bad = response.items[1]?.index;
    assert.equal(bad?.status, 400);
    assert.equal(bad?.error?.type, 'document_parsing_exception');
    assert.equal(response.items[0]?.index?.status, 201);
  });

  test('the check used by `tally up` indexes, finds and cleans up', async () => {
    const result = await checkElasticsearchRoundTrip({ ...testConfig().elasticsearch, indexPrefix: `${uniqueName('tally-test')}-` });
    assert.ok(result.capabilities.version.length > 0);
  });

  test('the capability probe reads the node modules', async () => {
    const caps = await esCapabilities();
    assert.match(caps.version, /^\d+\.\d+\.\d+/);
    assert.ok(caps.modules.includes('transport-netty4'), `modules: ${caps.modules.join(', ')}`);
    const parsed = capabilitiesFrom({ nodes: { n: { version: '8.19.21', modules: [{ name: 'data-streams' }, { name: 'x-pack-ilm' }] } } });
    assert.equal(parsed.dataStreams, true);
    assert.equal(parsed.ilm, true);
    assert.equal(parsed.ingestProcessors, false);
  });

  test('a data stream through a composable template (skipped, with the reason, where the module is missing)', async (t) => {
    if (!(await requireEsCapability(t, 'dataStreams'))) return;
    const name = uniqueName('tally-test-ds');
    await client.indices.putIndexTemplate({ name, index_patterns: [`${name}*`], data_stream: {}, template: { settings: { number_of_replicas: 0 } } });
    await client.index({ index: name, op_type: 'create', document: { '@timestamp': new Date().toISOString(), n: 1 }, refresh: 'wait_for' });
    const count = await client.count({ index: name });
    assert.equal(count.count, 1);
    await client.indices.deleteDataStream({ name });
    await client.indices.deleteIndexTemplate({ name });
  });
});
