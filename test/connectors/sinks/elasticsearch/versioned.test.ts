import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { installIndexTemplates } from '../../../../connectors/sinks/elasticsearch/setup.js';
import { startElasticsearchSink } from '../../../../connectors/sinks/elasticsearch/sink.js';
import { indexedTopic } from '../../../../connectors/sinks/elasticsearch/topics.js';
import { domainCodec } from '../../../../pipeline/avro.js';
import { buildEnvelope } from '../../../../pipeline/envelope.js';
import { normaliserFor } from '../../../../pipeline/normalise/index.js';
import { samplePath } from '../../../../app/up/samples.js';
import { esClient, eventually, testBus, testLog, uniqueName } from '../../../support/world.js';

async function vmRecords(file: string): Promise<{ id: string; value: Buffer; wall: number }[]> {
  const message = await readFile(samplePath('apel-message', file), 'utf8');
  const codec = domainCodec('cloud.vm');
  return normaliserFor('apel-message')
    .normalise(buildEnvelope({ message, inputType: 'apel-queue' }))
    .records.filter((r) => r.topic === 'cloud.vm')
    .map((r) => ({ id: r.id, value: codec.encode(r.value), wall: Number(r.value.wall_duration_seconds) }));
}

describe('a cloud snapshot that arrives after a later one does not replace it in Elasticsearch', { timeout: 120_000 }, () => {
  const client = esClient();
  const prefix = `${uniqueName('tally-versioned')}-`;
  after(async () => {
    await client.indices.delete({ index: `${prefix}*` }).catch(() => undefined);
    await client.close();
  });

  test("cASO's second run first, then its first run: the second run's cumulative durations stay", async () => {
    const first = await vmRecords('cloud-v0.4.txt');
    const second = await vmRecords('cloud-v0.4-second-run.txt');
    const grown = second.filter((s) => first.some((f) => f.id === s.id && f.wall < s.wall));
    assert.ok(grown.length > 0, 'the fixtures hold a VM whose second snapshot has grown');
    const bus = testBus('kafkajs', [`kafka.topicPrefix=${uniqueName('versioned')}.`]);
    const topic = bus.topic('cloud.vm');
    const admin = await bus.admin();
    await admin.createTopics([{ topic, partitions: 1 }]);
    const producer = await bus.producer();
    const headers = domainCodec('cloud.vm').headers;
    await producer.send(second.map((r) => ({ topic, key: r.id, value: r.value, headers })));
    await producer.send(first.map((r) => ({ topic, key: r.id, value: r.value, headers })));
    await producer.close();
    const spec = indexedTopic('cloud.vm');
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [spec] });
    const groupId = uniqueName('g');
    // one batch each time, so the old snapshot meets the stored new one in Elasticsearch, not in the batch
    const sink = await startElasticsearchSink({ bus, client, log: testLog, groupId, indexPrefix: prefix, topics: [spec] });
    try {
      await eventually('caught up', 60_000, async () => ((await admin.groupOffsets(groupId, topic)).every((o) => o.lag === 0) ? true : undefined));
    } finally {
      await sink.stop();
      await admin.close();
    }
    await client.indices.refresh({ index: `${prefix}*` });
    for (const vm of grown) {
      const found = await client.search<{ wall_duration_seconds: number }>({ index: `${prefix}cloud-vm-*`, query: { ids: { values: [vm.id] } } });
      assert.equal(found.hits.hits.length, 1, 'one document per VM and month');
      assert.equal(found.hits.hits[0]?._source?.wall_duration_seconds, vm.wall, 'the later snapshot stayed');
    }
    assert.equal(sink.stats.deadLettered, 0, 'an older snapshot is not an error');
  });
});
