import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { domainCodec, toJsonDocument } from '../../../pipeline/avro.js';
import { createBus } from '../../../pipeline/bus/index.js';
import type { Admin } from '../../../pipeline/bus/types.js';
import { createEsClient } from '../../../pipeline/elasticsearch/client.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { registryApplies } from '../../../pipeline/registry/in-use.js';
import { caughtUp, extendConfig, pipelineWorld, startStage, type StageProcess } from '../../e2e/pipeline.js';
import { eventually, testConfig, testLog } from '../../support/world.js';

const run = promisify(execFile);
const here = path.join(projectRoot, 'test', 'interop', 'confluent-python');

interface PythonRecord {
  topic: string;
  key: string | null;
  value: Record<string, unknown>;
}

/**
 * A consumer nobody here wrote: confluent-kafka's AvroDeserializer and SchemaRegistryClient (from
 * PyPI) read the accounting.usage topic `tally transform` wrote through the schema registry, and
 * every value equals the document the Elasticsearch sink indexed for it.
 */
describe('confluent-kafka[avro] (Python) reads the domain topics through the schema registry', { timeout: 600_000, skip: registryApplies(testConfig()) ? false : 'no schema registry in this test world (an external Kafka without registry.url)' }, () => {
  const stages: StageProcess[] = [];
  let admin: Admin | undefined;
  after(async () => {
    for (const stage of stages) await stage.kill('SIGTERM');
    await admin?.close().catch(() => undefined);
  });

  test('every record of accounting.usage, deserialized by its schema id, equals its Elasticsearch document', async () => {
    const { stdout: python } = await run('bash', [path.join(here, 'install.sh')], { timeout: 300_000 });
    const world = await pipelineWorld('confluent-python');
    await extendConfig(world, {
      ship: { inputs: [{ paths: [path.join(world.dir, '*.json')], kind: 'accounting', registryPath: path.join(world.dir, 'state', 'registry.json') }] },
      transform: { groupId: `${world.topicPrefix}transform`, kinds: ['accounting'] },
      sinks: { elasticsearch: { groupId: `${world.topicPrefix}sink`, topics: ['accounting.usage'] } },
    });
    const config = testConfig([`kafka.topicPrefix=${world.topicPrefix}`]);
    const bus = createBus(config.kafka, testLog);
    admin = await bus.admin();
    for (const [args, ready] of [[['ship'], /tally ship:/], [['transform'], /tally transform running/], [['sink', 'elasticsearch'], /tally sink elasticsearch:/]] as const) stages.push(await startStage(world, [...args], ready));
    await copyFile(path.join(projectRoot, 'test', 'fixtures', 'accounting', 'valid.ndjson'), path.join(world.dir, 'usage.json'));
    const topic = bus.topic('accounting.usage');
    await eventually('the transform wrote accounting.usage', 120_000, async () => ((await admin?.groupOffsets('nobody', topic))?.some((o) => Number(o.end) > 0) ? true : undefined));
    await caughtUp(admin, `${world.topicPrefix}transform`, bus.topic('raw.accounting'), 120_000);
    await caughtUp(admin, `${world.topicPrefix}sink`, topic, 120_000);

    const { stdout } = await run(python.trim(), [path.join(here, 'read_topics.py'), '--bootstrap', config.kafka.brokers.join(','), '--registry', config.registry.url, '--topics', topic], { timeout: 180_000, maxBuffer: 64 * 1024 * 1024 });
    const read = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as PythonRecord);
    assert.ok(read.length >= 20, `Python read ${read.length} records`);

    const es = createEsClient(config.elasticsearch);
    try {
      await es.indices.refresh({ index: `${world.indexPrefix}*` });
      const hits = await es.search<Record<string, unknown>>({ index: `${world.indexPrefix}accounting-usage-*`, size: 1000, query: { match_all: {} } });
      const documents = new Map(hits.hits.hits.map((h) => [h._id, h._source]));
      assert.equal(documents.size, new Set(read.map((r) => r.value.id)).size, 'as many documents as distinct records');
      const codec = domainCodec('accounting.usage');
      for (const record of read) {
        const id = String(record.value.id);
        assert.equal(record.key, id, 'the key is the record id');
        assert.deepEqual(toJsonDocument(codec, record.value), documents.get(id), `record ${id}: what Python read is what Elasticsearch holds`);
      }
    } finally {
      await es.close();
    }
  });
});
