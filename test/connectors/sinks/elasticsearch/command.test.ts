import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { sinkCommand } from '../../../../app/cli/commands/sink.js';
import { isTallyError } from '../../../../pipeline/errors.js';
import { projectRoot } from '../../../../pipeline/paths.js';
import { indexedTopics } from '../../../../connectors/sinks/elasticsearch/topics.js';
import { esClient, eventually, testBus, testConfig, uniqueName } from '../../../support/world.js';
import { usageMessage, usageRecord } from './records.js';
import { kibanaStatus, startKibanaDouble, type KibanaDouble } from '../../../support/kibana-double.js';

/** Runs one command module in its own process, as main.ts will once it registers it. */
function runCommand(module: 'sink' | 'setup', args: string[], env: Record<string, string>): { child: ChildProcessWithoutNullStreams; output: () => string; exit: Promise<number | null> } {
  const file = path.join(projectRoot, 'dist/app/cli/commands', `${module}.js`);
  const code = `const m = await import(${JSON.stringify(file)}); try { await m.${module}Command().parseAsync(process.argv.slice(1), { from: 'user' }); } catch (e) { process.stderr.write(String(e.code ?? '') + ': ' + e.message + '\\n'); process.exit(1); }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, '--', ...args], { env: { ...process.env, TALLY_LOG__LEVEL: 'warn', ...env } });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

describe('tally sink and tally setup', { timeout: 240_000 }, () => {
  const client = esClient();
  const prefix = `${uniqueName('tally-cmd')}-`;
  /** a stand-in for Kibana's _status and _import: no Kibana can run here (test/support/kibana-double.ts) */
  let kibana: KibanaDouble;
  before(async () => {
    kibana = await startKibanaDouble('8.19.21');
  });
  after(async () => {
    await kibana.close();
    await client.indices.delete({ index: `${prefix}*` }).catch(() => undefined);
    await client.indices.deleteIndexTemplate({ name: `${prefix}accounting-usage` }).catch(() => undefined);
    await client.cluster.deleteComponentTemplate({ name: `${prefix}accounting-usage-*` }).catch(() => undefined);
    await client.close();
  });

  test('tally sink apel without a queue directory, an unknown target and an unknown layout are usage errors', async () => {
    await assert.rejects(sinkCommand().parseAsync(['apel'], { from: 'user' }), (error) => isTallyError(error, 'USAGE') && /outgoing queue directory/.test(error.message));
    await assert.rejects(sinkCommand().parseAsync(['s3'], { from: 'user' }), (error) => isTallyError(error, 'USAGE'));
    await assert.rejects(sinkCommand().parseAsync(['elasticsearch', '--layout', 'weekly'], { from: 'user' }), (error) => isTallyError(error, 'USAGE'));
  });

  test('tally setup --kibana-url: checks the version, prints the templates it installed and the objects Kibana imported', async () => {
    kibana.received.length = 0;
    const run = runCommand('setup', ['--kibana-url', kibana.url], { TALLY_ELASTICSEARCH__INDEX_PREFIX: prefix });
    assert.equal(await run.exit, 0, run.output());
    const output = run.output();
    assert.match(output, /kibana http:\/\/127\.0\.0\.1:\d+: version 8\.19\.21 \(the saved objects need 8\.9\.0 or later\)/);
    assert.match(output, new RegExp(`index template +${prefix}accounting-usage → ${prefix}accounting-usage-\\*`));
    assert.match(output, new RegExp(`component template +${prefix}accounting-usage-mappings`));
    assert.match(output, /imported \d+ saved objects from schemas\/kibana\/accounting\.ndjson/);
    assert.match(output, /dashboard +tally-accounting-overview +"Accounting overview"/);
    const files = new Set(indexedTopics.filter((t) => testConfig().sinks.elasticsearch.topics.includes(t.topic)).flatMap((t) => (t.savedObjects ? [t.savedObjects] : [])));
    assert.deepEqual(
      kibana.received.map((r) => ({ url: r.url, xsrf: r.headers['kbn-xsrf'] !== undefined })),
      [{ url: '/api/status', xsrf: true }, ...[...files].map(() => ({ url: '/api/saved_objects/_import?overwrite=true', xsrf: true }))],
      'the version first, then one import per saved-objects file of the configured topics',
    );
  });

  test('tally setup against a Kibana 8.8: KIBANA_VERSION before anything is installed, exit 1', async () => {
    kibana.status = kibanaStatus('8.8.2');
    kibana.received.length = 0;
    const other = `${uniqueName('tally-cmd-old')}-`;
    const run = runCommand('setup', ['--kibana-url', kibana.url], { TALLY_ELASTICSEARCH__INDEX_PREFIX: other });
    assert.equal(await run.exit, 1, run.output());
    assert.match(run.output(), /KIBANA_VERSION: Kibana at http:\/\/127\.0\.0\.1:\d+ is 8\.8\.2; the saved objects in schemas\/kibana need 8\.9\.0 or later/);
    assert.deepEqual(kibana.received.map((r) => r.url), ['/api/status'], 'nothing imported');
    assert.equal(await client.indices.existsIndexTemplate({ name: `${other}accounting-usage` }), false, 'no template installed');
    kibana.status = kibanaStatus('8.19.21');
  });

  test('tally sink elasticsearch --layout data-stream on a node without data streams says why and exits 1', async (t) => {
    const caps = await import('../../../support/world.js').then((w) => w.esCapabilities());
    if (caps.dataStreams) return t.skip('this node has data streams');
    const run = runCommand('sink', ['elasticsearch', '--layout', 'data-stream'], { TALLY_ELASTICSEARCH__INDEX_PREFIX: prefix });
    assert.equal(await run.exit, 1);
    assert.match(run.output(), /ES_PERMANENT: the data-stream layout needs the Elasticsearch data-streams module/);
  });

  test('tally sink elasticsearch: installs templates, indexes until SIGTERM, then commits and exits 0', async () => {
    const topicPrefix = `${uniqueName('cmd')}.`;
    const bus = testBus('kafkajs', [`kafka.topicPrefix=${topicPrefix}`]);
    const topic = bus.topic('accounting.usage');
    const admin = await bus.admin();
    await admin.createTopics([{ topic }, { topic: bus.topic('dlq.accounting') }]);
    const records = Array.from({ length: 25 }, (_, i) => usageRecord({ id: `cmd-${i}`, timestamp: Date.UTC(2026, 7, 1) + i * 1000, value: i }));
    const producer = await bus.producer();
    await producer.send(records.map((r) => usageMessage(topic, r)));
    await producer.close();
    const groupId = uniqueName('g');
    const run = runCommand('sink', ['elasticsearch'], { TALLY_ELASTICSEARCH__INDEX_PREFIX: prefix, TALLY_KAFKA__TOPIC_PREFIX: topicPrefix, TALLY_SINKS__ELASTICSEARCH__GROUP_ID: groupId });
    await eventually('the sink says it runs', 30_000, () => (run.output().includes('tally sink elasticsearch:') ? true : undefined));
    assert.match(run.output(), new RegExp(`index template +${prefix}accounting-usage`));
    await eventually('all records committed', 60_000, async () => ((await admin.groupOffsets(groupId, topic)).every((o) => o.lag === 0 && Number(o.committed) > 0) ? true : undefined));
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0, run.output());
    await client.indices.refresh({ index: `${prefix}accounting-usage-2026.08` });
    assert.equal((await client.count({ index: `${prefix}accounting-usage-2026.08` })).count, records.length);
    await admin.close();
  });
});
