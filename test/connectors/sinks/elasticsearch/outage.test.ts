import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { installIndexTemplates } from '../../../../connectors/sinks/elasticsearch/setup.js';
import { startElasticsearchSink } from '../../../../connectors/sinks/elasticsearch/sink.js';
import { indexedTopic } from '../../../../connectors/sinks/elasticsearch/topics.js';
import type { CommittedOffset } from '../../../../pipeline/bus/types.js';
import { createEsClient } from '../../../../pipeline/elasticsearch/client.js';
import { esClient, eventually, testBus, testConfig, testLog, uniqueName } from '../../../support/world.js';
import { closedPort, startEsProxy, type EsProxy } from './es-proxy.js';
import { usageMessage, usageRecord } from './records.js';

const accounting = indexedTopic('accounting.usage');

describe('sink elasticsearch while Elasticsearch is unavailable', { timeout: 180_000 }, () => {
  const client = esClient();
  const prefix = `${uniqueName('tally-outage')}-`;
  const proxies: EsProxy[] = [];
  after(async () => {
    for (const proxy of proxies) await proxy.close();
    await client.indices.delete({ index: `${prefix}*` }).catch(() => undefined);
    await client.indices.deleteIndexTemplate({ name: `${prefix}accounting-usage` }).catch(() => undefined);
    await client.cluster.deleteComponentTemplate({ name: `${prefix}accounting-usage-*` }).catch(() => undefined);
    await client.close();
  });

  test('connection refused, then 503, then 429/503 for half of each bulk: retried without committing, then caught up with nothing lost', async () => {
    const bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('outage')}.`, 'kafka.commitIntervalMs=0']);
    const topic = bus.topic('accounting.usage');
    const admin = await bus.admin();
    // one partition: offset n is record n, so a commit can be checked against what Elasticsearch acknowledged
    await admin.createTopics([{ topic, partitions: 1 }, { topic: bus.topic('dlq.accounting') }]);
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [accounting] });
    const records = Array.from({ length: 120 }, (_, i) => usageRecord({ id: `rec-${String(i).padStart(3, '0')}`, timestamp: Date.UTC(2026, 4, 1) + i * 60_000, value: i }));
    const producer = await bus.producer();
    await producer.send(records.map((r) => usageMessage(topic, r)));
    await producer.close();

    const port = await closedPort();
    const sinkClient = createEsClient({ ...testConfig().elasticsearch, url: `http://127.0.0.1:${port}`, requestTimeoutMs: 3000 });
    const groupId = uniqueName('g');
    const sink = await startElasticsearchSink({ bus, client: sinkClient, log: testLog, groupId, indexPrefix: prefix, topics: [accounting], maxBackoffMs: 400 });
    const commits: CommittedOffset[] = [];
    const prematureCommits: string[] = [];
    let proxy: EsProxy | undefined;
    sink.consumer.on('committed', (offsets) => {
      for (const committed of offsets) {
        commits.push(committed);
        const unacknowledged = records.slice(0, Number(committed.offset)).filter((r) => !proxy?.acknowledged.has(r.id));
        if (unacknowledged.length) prematureCommits.push(`offset ${committed.offset} committed before Elasticsearch acknowledged ${unacknowledged.length} records (${unacknowledged[0]?.id}…)`);
      }
    });

    // A: nothing listens on the port
    await eventually('the sink retrying against a closed port', 30_000, () => (sink.stats.retried >= 2 * records.length ? true : undefined));
    assert.equal(commits.length, 0, 'nothing committed while Elasticsearch is unreachable');

    // B: something answers, but only 503
    proxy = await startEsProxy(testConfig().elasticsearch.url, port, 'unavailable');
    proxies.push(proxy);
    await eventually('bulk requests answered 503', 30_000, () => (proxy && proxy.bulkRequests >= 2 ? true : undefined));
    assert.equal(commits.length, 0, 'nothing committed while every bulk answers 503');
    const [offsetsDuringOutage] = await admin.groupOffsets(groupId, topic);
    assert.equal(offsetsDuringOutage?.committed, '-1', 'the group has no committed offset yet');

    // C: two bulk requests where half the items come back 429, then 503; D: all through
    proxy.partialRequests = 2;
    proxy.mode = 'partial';
    await eventually('all records handled and committed', 60_000, async () => {
      const [offsets] = await admin.groupOffsets(groupId, topic);
      return offsets?.lag === 0 && offsets.committed === String(records.length) ? true : undefined;
    });
    assert.ok(proxy.heldBack >= records.length / 2, `items held back per item: ${proxy.heldBack}`);
    assert.deepEqual(prematureCommits, []);
    assert.equal(commits.at(-1)?.offset, String(records.length));

    await client.indices.refresh({ index: `${prefix}accounting-usage-*` });
    const { count } = await client.count({ index: `${prefix}accounting-usage-2026.05` });
    assert.equal(count, records.length, 'every record is in Elasticsearch, once');
    const found = await client.mget<{ value: number }>({ index: `${prefix}accounting-usage-2026.05`, ids: records.map((r) => r.id) });
    assert.deepEqual(
      found.docs.map((d) => ('found' in d && d.found ? d._source?.value : undefined)),
      records.map((r) => r.value),
    );
    assert.equal(sink.stats.deadLettered, 0, 'an outage sends nothing to the dead-letter topic');
    await sink.stop();
    await sinkClient.close();
    await admin.close();
  });

  test('stopping during an outage returns promptly and commits nothing; a new sink picks the records up', async () => {
    const bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('outage-stop')}.`, 'kafka.commitIntervalMs=0']);
    const topic = bus.topic('accounting.usage');
    const admin = await bus.admin();
    await admin.createTopics([{ topic, partitions: 1 }, { topic: bus.topic('dlq.accounting') }]);
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [accounting] });
    const records = Array.from({ length: 20 }, (_, i) => usageRecord({ id: `stop-${i}`, timestamp: Date.UTC(2026, 5, 1) + i, value: i }));
    const producer = await bus.producer();
    await producer.send(records.map((r) => usageMessage(topic, r)));
    await producer.close();

    const port = await closedPort();
    const downClient = createEsClient({ ...testConfig().elasticsearch, url: `http://127.0.0.1:${port}`, requestTimeoutMs: 2000 });
    const groupId = uniqueName('g');
    const first = await startElasticsearchSink({ bus, client: downClient, log: testLog, groupId, indexPrefix: prefix, topics: [accounting], maxBackoffMs: 30_000 });
    await eventually('the first sink retrying', 30_000, () => (first.stats.retried > 0 ? true : undefined));
    await sleep(500);
    const started = Date.now();
    await first.stop();
    assert.ok(Date.now() - started < 10_000, `stop took ${Date.now() - started} ms despite a 30 s backoff`);
    const [offsets] = await admin.groupOffsets(groupId, topic);
    assert.equal(offsets?.committed, '-1', 'nothing committed by the sink that never reached Elasticsearch');
    await downClient.close();

    const second = await startElasticsearchSink({ bus, client, log: testLog, groupId, indexPrefix: prefix, topics: [accounting] });
    await eventually('the second sink catching up', 60_000, async () => {
      const [o] = await admin.groupOffsets(groupId, topic);
      return o?.lag === 0 && o.committed === String(records.length) ? true : undefined;
    });
    await client.indices.refresh({ index: `${prefix}accounting-usage-2026.06` });
    assert.equal((await client.count({ index: `${prefix}accounting-usage-2026.06` })).count, records.length);
    await second.stop();
    await admin.close();
  });
});
