import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from '@elastic/elasticsearch';
import { resolveLayout } from '../../../../connectors/sinks/elasticsearch/layout.js';
import { clusterCapabilities, describeTemplateInstall, installIndexTemplates } from '../../../../connectors/sinks/elasticsearch/setup.js';
import { startElasticsearchSink } from '../../../../connectors/sinks/elasticsearch/sink.js';
import { familyMappings, mappedFields, templateSet } from '../../../../connectors/sinks/elasticsearch/templates.js';
import { indexedTopic } from '../../../../connectors/sinks/elasticsearch/topics.js';
import { toJsonDocument } from '../../../../pipeline/avro.js';
import { isTallyError } from '../../../../pipeline/errors.js';
import { esCapabilities, esClient, eventually, requireEsCapability, testBus, testLog, uniqueName } from '../../../support/world.js';
import { usageCodec, usageMessage, usageRecord } from './records.js';

const accounting = indexedTopic('accounting.usage');

describe('the accounting-usage template set', () => {
  test('the file, prefix filled in: strict mappings of every accounting field, single-node friendly replicas', () => {
    const set = templateSet('accounting-usage', { prefix: 'x-', layout: 'monthly', ilm: false });
    assert.deepEqual(set.indexTemplate.index_patterns, ['x-accounting-usage-*']);
    assert.deepEqual(set.indexTemplate.composed_of, ['x-accounting-usage-settings', 'x-accounting-usage-mappings']);
    assert.equal(set.indexTemplate.data_stream, undefined);
    assert.equal(set.lifecyclePolicy, undefined);
    const mappings = familyMappings(set);
    assert.equal(mappings.dynamic, 'strict');
    const fields = mappedFields(mappings.properties);
    for (const [field, type] of [['id', 'keyword'], ['timestamp', 'date'], ['serviceid', 'keyword'], ['userid', 'keyword'], ['comment', 'text'], ['value', 'double'], ['signed_value', 'double'], ['starttime', 'date'], ['source.tags', 'keyword'], ['source.offset', 'long']]) {
      assert.equal(fields.get(field as string), type, field);
    }
    assert.equal((set.componentTemplates[0]?.template.settings?.index as Record<string, unknown>).auto_expand_replicas, '0-1');
    assert.equal((set.componentTemplates[0]?.template.settings?.index as Record<string, unknown>).refresh_interval, '250ms', 'searchable within the end-to-end target (≤ 1 s)');
  });

  test('every field of the Avro schema has a mapping, so strict refuses only what the schema does not know', () => {
    const fields = mappedFields(familyMappings(templateSet('accounting-usage', { prefix: '', layout: 'monthly', ilm: false })).properties);
    const record = usageCodec().type.random() as unknown as Record<string, unknown>;
    const walk = (value: unknown, path: string[]): string[] => (value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value).flatMap(([k, v]) => walk(v, [...path, k])) : [path.join('.')]);
    const avroFields = (usageCodec().type as unknown as { fields: { name: string; type: { fields?: { name: string }[] } }[] }).fields.flatMap((f) => (f.type.fields ? f.type.fields.map((s) => `${f.name}.${s.name}`) : [f.name]));
    assert.deepEqual(avroFields.filter((f) => !fields.has(f)), []);
    assert.deepEqual(walk(toJsonDocument(usageCodec(), record), []).filter((f) => !fields.has(f)), []);
  });

  test('a data stream adds data_stream and @timestamp; ILM adds a policy and the component naming it', () => {
    const set = templateSet('accounting-usage', { prefix: 'x-', layout: 'data-stream', ilm: true });
    assert.deepEqual(set.indexTemplate.data_stream, {});
    assert.equal(mappedFields(familyMappings(set).properties).get('@timestamp'), 'date');
    assert.equal(set.lifecyclePolicy?.name, 'x-accounting-usage');
    assert.ok(JSON.stringify(set.lifecyclePolicy?.policy.phases).includes('rollover'));
    assert.deepEqual(set.indexTemplate.composed_of.slice(-2), ['x-accounting-usage-data-stream', 'x-accounting-usage-lifecycle']);
    const monthly = templateSet('accounting-usage', { prefix: 'x-', layout: 'monthly', ilm: true });
    assert.ok(!JSON.stringify(monthly.lifecyclePolicy?.policy.phases).includes('rollover'), 'monthly indices have no alias to roll over');
    assert.throws(() => resolveLayout('data-stream', { dataStreams: false, modules: ['transport-netty4'] }), (error) => isTallyError(error, 'ES_PERMANENT') && /data-streams module/.test(error.message));
  });
});

describe('installing templates on the real Elasticsearch', { timeout: 120_000 }, () => {
  const client = esClient();
  const prefixes: string[] = [];
  const fresh = (): string => {
    const prefix = `${uniqueName('tally-setup')}-`;
    prefixes.push(prefix);
    return prefix;
  };
  after(async () => {
    for (const prefix of prefixes) {
      await client.indices.delete({ index: `${prefix}*` }).catch(() => undefined);
      await client.indices.deleteIndexTemplate({ name: `${prefix}accounting-usage` }).catch(() => undefined);
      await client.cluster.deleteComponentTemplate({ name: `${prefix}accounting-usage-*` }).catch(() => undefined);
    }
    await client.close();
  });

  test('idempotent: twice gives the same templates; an index created from them is strict, typed and green on one node', async () => {
    const prefix = fresh();
    const first = await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [accounting] });
    const second = await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [accounting] });
    assert.deepEqual(second, first);
    assert.deepEqual(first.componentTemplates, [`${prefix}accounting-usage-settings`, `${prefix}accounting-usage-mappings`]);
    assert.deepEqual(first.indexTemplates, [{ name: `${prefix}accounting-usage`, patterns: [`${prefix}accounting-usage-*`] }]);
    const lines = describeTemplateInstall('http://es', first);
    assert.match(lines[0] ?? '', /monthly layout/);
    assert.ok(lines.some((l) => l.includes(`index template      ${prefix}accounting-usage → ${prefix}accounting-usage-*`)));

    const { index_templates } = await client.indices.getIndexTemplate({ name: `${prefix}accounting-usage` });
    assert.equal(index_templates.length, 1);
    const index = `${prefix}accounting-usage-2026.01`;
    await client.index({ index, id: 'one', document: toJsonDocument(usageCodec(), usageRecord({ id: 'one', timestamp: Date.UTC(2026, 0, 2) }) as never), refresh: 'wait_for' });
    const mapping = await client.indices.getMapping({ index });
    const properties = mapping[index]?.mappings.properties ?? {};
    assert.equal(mapping[index]?.mappings.dynamic, 'strict');
    assert.equal(properties.signed_value?.type, 'double');
    assert.equal(properties.comment?.type, 'text');
    assert.equal(properties.userid?.type, 'keyword');
    const health = await client.cluster.health({ index, wait_for_status: 'green', timeout: '10s' });
    assert.equal(health.status, 'green', 'no unassigned replica on a single node');

    await assert.rejects(
      client.index({ index, id: 'two', document: { id: 'two', timestamp: '2026-01-03T00:00:00Z', surprise: 1 } }),
      (error) => error instanceof errors.ResponseError && error.statusCode === 400 && /strict_dynamic_mapping_exception/.test(JSON.stringify(error.body)),
    );
  });

  test('a keyword longer than Lucene takes (32766 bytes) is kept in _source unindexed, not a refused document; every accounting keyword has ignore_above', async () => {
    const fields = familyMappings(templateSet('accounting-usage', { prefix: '', layout: 'monthly', ilm: false })).properties;
    const keywords = (properties: Record<string, { type?: string; ignore_above?: number; properties?: Record<string, unknown> }>, path: string[] = []): [string, number | undefined][] =>
      Object.entries(properties).flatMap(([name, field]) => (field.properties ? keywords(field.properties as never, [...path, name]) : field.type === 'keyword' ? [[[...path, name].join('.'), field.ignore_above]] : []));
    const found = keywords(fields as never);
    assert.ok(found.length >= 15, `${found.length} keywords`);
    assert.deepEqual(found.filter(([, above]) => above !== 8191), [], 'ignore_above 8191 on every keyword, as the cloud templates');
    const prefix = fresh();
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [accounting] });
    const index = `${prefix}accounting-usage-2026.03`;
    const resource = '€'.repeat(11_000); // 33 000 bytes in UTF-8
    await client.index({ index, id: 'long', document: toJsonDocument(usageCodec(), usageRecord({ id: 'long', timestamp: Date.UTC(2026, 2, 1), resource }) as never), refresh: 'wait_for' });
    const stored = await client.get<{ resource: string }>({ index, id: 'long' });
    assert.equal(stored._source?.resource, resource);
    // a term query with the value itself is refused by Elasticsearch (longer than a term may be): ask _ignored instead
    assert.equal((await client.count({ index, query: { term: { _ignored: 'resource' } } })).count, 1, 'too long to be indexed: listed in _ignored');
    assert.equal((await client.count({ index, query: { exists: { field: 'resource' } } })).count, 0, 'not in the index');
    assert.equal((await client.count({ index, query: { term: { userid: 'alice' } } })).count, 1, 'the other fields are indexed');
  });

  test('existing indices get the template fields added; an index whose field changed type is reported, not fatal', async () => {
    const prefix = fresh();
    await client.indices.create({ index: `${prefix}accounting-usage-2024.01`, mappings: { properties: { id: { type: 'keyword' } } } });
    await client.indices.create({ index: `${prefix}accounting-usage-2024.02`, mappings: { properties: { value: { type: 'keyword' } } } });
    const install = await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [accounting] });
    assert.deepEqual(install.updatedIndices, [`${prefix}accounting-usage-2024.01`]);
    assert.equal(install.mappingConflicts.length, 1);
    assert.equal(install.mappingConflicts[0]?.index, `${prefix}accounting-usage-2024.02`);
    assert.match(install.mappingConflicts[0]?.reason ?? '', /value/);
    const mapping = await client.indices.getMapping({ index: `${prefix}accounting-usage-2024.01` });
    assert.equal(mapping[`${prefix}accounting-usage-2024.01`]?.mappings.properties?.signed_value?.type, 'double');
  });

  test('the capability probe through the client agrees with the test world', async () => {
    const viaClient = await clusterCapabilities(client);
    const viaFetch = await esCapabilities();
    assert.deepEqual(viaClient, viaFetch);
  });

  test('ILM: the policy is created once and then left as the operator set it (skipped, with the reason, without ILM)', async (t) => {
    if (!(await requireEsCapability(t, 'ilm'))) return;
    const prefix = fresh();
    const first = await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [accounting] });
    assert.deepEqual(first.lifecyclePolicies, [{ name: `${prefix}accounting-usage`, action: 'created' }]);
    await client.ilm.putLifecycle({ name: `${prefix}accounting-usage`, policy: { phases: { hot: { actions: {} }, delete: { min_age: '400d', actions: { delete: {} } } } } });
    const second = await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [accounting] });
    assert.deepEqual(second.lifecyclePolicies, [{ name: `${prefix}accounting-usage`, action: 'kept' }]);
    const policy = await client.ilm.getLifecycle({ name: `${prefix}accounting-usage` });
    assert.ok(policy[`${prefix}accounting-usage`]?.policy.phases.delete, 'the operator\'s delete phase is still there');
    const index = `${prefix}accounting-usage-2026.02`;
    await client.indices.create({ index });
    const settings = await client.indices.getSettings({ index, name: 'index.lifecycle.name', flat_settings: true });
    assert.equal(settings[index]?.settings?.['index.lifecycle.name'], `${prefix}accounting-usage`);
    await client.ilm.deleteLifecycle({ name: `${prefix}accounting-usage` }).catch(() => undefined);
  });

  test('data-stream layout: the sink creates into <prefix>accounting-usage-stream with @timestamp; a replay is a 409, counted as written (skipped, with the reason, without data streams)', async (t) => {
    if (!(await requireEsCapability(t, 'dataStreams'))) return;
    const prefix = fresh();
    const install = await installIndexTemplates(client, { prefix, layout: 'data-stream', topics: [accounting] });
    assert.equal(install.layout, 'data-stream');
    const bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('ds')}.`]);
    const topic = bus.topic('accounting.usage');
    const admin = await bus.admin();
    await admin.createTopics([{ topic }, { topic: bus.topic('dlq.accounting') }]);
    const records = Array.from({ length: 10 }, (_, i) => usageRecord({ id: `ds-${i}`, timestamp: Date.UTC(2026, 6, 1) + i }));
    const producer = await bus.producer();
    await producer.send(records.map((r) => usageMessage(topic, r)));
    await producer.send(records.map((r) => usageMessage(topic, r)));
    await producer.close();
    const groupId = uniqueName('g');
    const sink = await startElasticsearchSink({ bus, client, log: testLog, groupId, indexPrefix: prefix, topics: [accounting], layout: 'data-stream' });
    await eventually('all committed', 60_000, async () => ((await admin.groupOffsets(groupId, topic)).every((o) => o.lag === 0 && Number(o.committed) > 0) ? true : undefined));
    const stream = `${prefix}accounting-usage-stream`;
    await client.indices.refresh({ index: stream });
    assert.equal((await client.count({ index: stream })).count, records.length);
    const hit = await client.search<{ '@timestamp': string; timestamp: string }>({ index: stream, query: { ids: { values: ['ds-0'] } } });
    assert.equal(hit.hits.hits[0]?._source?.['@timestamp'], new Date(Date.UTC(2026, 6, 1)).toISOString());
    assert.equal(sink.stats.deadLettered, 0);
    await sink.stop();
    await admin.close();
    await client.indices.deleteDataStream({ name: stream }).catch(() => undefined);
  });
});
