import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { installIndexTemplates } from '../../../connectors/sinks/elasticsearch/setup.js';
import { indexedTopic } from '../../../connectors/sinks/elasticsearch/topics.js';
import { loadConfig } from '../../../pipeline/config/load.js';
import { createEsClient, withEsAccess } from '../../../pipeline/elasticsearch/client.js';
import { TallyError } from '../../../pipeline/errors.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { startSecureElasticsearch, type SecureElasticsearch } from '../../support/secure/elasticsearch.js';
import { eventually, uniqueName } from '../../support/world.js';
import { capturingLogger } from '../../support/secure/capture-log.js';
import type { PreparedDocument } from '../../../connectors/sinks/elasticsearch/batch.js';
import { retryingBulkWriter } from '../../../connectors/sinks/elasticsearch/retrying-bulk-writer.js';

const run = promisify(execFile);
const tally = path.join(projectRoot, 'bin/tally');

interface Outcome {
  code: number;
  out: string;
}

/**
 * A node of our own with security on (file realm: the integ-test build lacks analysis-common, which
 * the native realm's .security index needs); the shared node has security off and must stay so.
 */
describe('Elasticsearch with security enabled', { timeout: 600_000 }, () => {
  let es: SecureElasticsearch;
  const prefix = `${uniqueName('h-sec')}-`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h-sec-es-test-'));
  before(async () => {
    es = await startSecureElasticsearch(prefix);
  });
  after(async () => {
    await es?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function tallyRun(command: string[], sets: string[], env: Record<string, string> = {}, caFile = es.caFile): Promise<Outcome> {
    const args = ['--log-level', 'debug', '--ops-port', '0', '--es-url', es.url, '--set', `elasticsearch.indexPrefix=${prefix}`, '--set', `elasticsearch.caFile=${caFile}`, ...sets.flatMap((s) => ['--set', s]), ...command];
    try {
      const { stdout, stderr } = await run(tally, args, { env: { ...process.env, ELASTICSEARCH_URL: '', ...env }, timeout: 120_000 });
      return { code: 0, out: `${stdout}${stderr}` };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  const setup = (sets: string[], env: Record<string, string> = {}, caFile = es.caFile): Promise<Outcome> => tallyRun(['setup'], sets, env, caFile);

  async function templates(): Promise<string[]> {
    const answer = await es.request('GET', `/_index_template/${prefix}*`);
    return ((answer.body as { index_templates?: { name: string }[] }).index_templates ?? []).map((t) => t.name);
  }

  function secretFile(name: string, content: string): string {
    const file = path.join(dir, name);
    writeFileSync(file, `${content}\n`, { mode: 0o600 });
    return file;
  }

  function apiKeyOrSkip(t: TestContext): string | undefined {
    if ('encoded' in es.apiKey) return es.apiKey.encoded;
    const reason = `no API key can be created on this build (${es.apiKey.unavailable}); the API key stores in the .security index, whose mapping needs the analysis-common module`;
    process.stdout.write(`# SKIP ${t.name}: ${reason}\n`);
    t.skip(reason);
    return undefined;
  }

  test('tally setup with a user and a password from the environment installs the templates; its debug log holds no password', async () => {
    const result = await setup([`elasticsearch.username=${es.writer.username}`], { TALLY_ELASTICSEARCH__PASSWORD: es.writer.password });
    assert.equal(result.code, 0, result.out);
    assert.ok((await templates()).length > 0, `templates under ${prefix} installed: ${result.out}`);
    assert.ok(!result.out.includes(es.writer.password), 'password in the output');
  });

  test('the sink path (templates, then a bulk write) with a user and elasticsearch.passwordFile', async () => {
    const config = loadConfig({ env: {}, sets: [`elasticsearch.url=${es.url}`, `elasticsearch.caFile=${es.caFile}`, `elasticsearch.username=${es.writer.username}`, `elasticsearch.passwordFile=${secretFile('es-password', es.writer.password)}`, `elasticsearch.indexPrefix=${prefix}`] });
    const client = createEsClient(config.elasticsearch);
    try {
      const install = await installIndexTemplates(client, { prefix, layout: 'monthly', topics: config.sinks.elasticsearch.topics.map(indexedTopic) });
      assert.ok(install.indexTemplates.length > 0);
      const index = `${prefix}probe`;
      const bulk = await client.bulk({ refresh: true, operations: [{ index: { _index: index, _id: 'one' } }, { written: 'by tally-writer' }] });
      assert.equal(bulk.errors, false, JSON.stringify(bulk.items));
    } finally {
      await client.close();
    }
    const count = await es.request('GET', `/${prefix}probe/_count`);
    assert.equal((count.body as { count: number }).count, 1);
  });

  test('a wrong password: tally setup exits with ES_AUTH naming the URL and the user, not the password', async () => {
    const wrong = `wrong-${es.writer.password}`;
    const result = await setup([`elasticsearch.username=${es.writer.username}`, `elasticsearch.passwordFile=${secretFile('es-wrong', wrong)}`]);
    assert.equal(result.code, 1, result.out);
    assert.match(result.out, /tally: ES_AUTH: .*Elasticsearch at https:\/\/127\.0\.0\.1:\d+ refused the credentials, user "tally-writer" with the password from elasticsearch\.passwordFile/);
    assert.ok(result.out.includes(es.url), 'names the URL');
    assert.ok(!result.out.includes(wrong), 'wrong password in the output');
  });

  test('a role without the privilege: ES_AUTH says the credentials were accepted but the request is denied', async () => {
    const config = loadConfig({ env: {}, sets: [`elasticsearch.url=${es.url}`, `elasticsearch.caFile=${es.caFile}`, `elasticsearch.username=${es.writer.username}`, `elasticsearch.password=${es.writer.password}`] });
    const client = createEsClient(config.elasticsearch);
    try {
      await assert.rejects(
        withEsAccess(config.elasticsearch, () => client.indices.create({ index: `not-${prefix}x` })),
        (error: unknown) => error instanceof TallyError && error.code === 'ES_AUTH' && /denies this request/.test(error.message) && !error.message.includes(es.writer.password),
      );
    } finally {
      await client.close();
    }
  });

  test('a wrong API key from elasticsearch.apiKeyFile: ES_AUTH naming the URL and the key file, not the key', async () => {
    const wrong = Buffer.from(`not-an-id:${uniqueName('not-a-key')}`).toString('base64');
    const file = secretFile('es-wrong-key', wrong);
    const result = await setup([`elasticsearch.apiKeyFile=${file}`]);
    assert.equal(result.code, 1, result.out);
    assert.ok(result.out.includes(`tally: ES_AUTH: `), result.out);
    assert.ok(result.out.includes(`Elasticsearch at ${es.url} refused the credentials, API key from elasticsearch.apiKeyFile ${file}`), result.out);
    assert.ok(!result.out.includes(wrong), 'the key in the output');
  });

  test('an untrusted certificate: tally setup exits with ES_TLS naming elasticsearch.caFile', async () => {
    const result = await setup([`elasticsearch.username=${es.writer.username}`, `elasticsearch.password=${es.writer.password}`], {}, es.untrustedCaFile);
    assert.equal(result.code, 1, result.out);
    assert.ok(result.out.includes(`tally: ES_TLS: `), result.out);
    assert.ok(result.out.includes(`Elasticsearch at ${es.url} failed: its certificate is not trusted`), result.out);
    assert.ok(result.out.includes(`elasticsearch.caFile ${es.untrustedCaFile} is not the CA that signed it`), result.out);
    assert.ok(!result.out.includes(es.writer.password), 'password in the output');
  });

  test('tally sink elasticsearch stops at once on an untrusted certificate or a wrong password instead of waiting for the node', async () => {
    const tls = await tallyRun(['sink', 'elasticsearch'], [`elasticsearch.username=${es.writer.username}`, `elasticsearch.password=${es.writer.password}`], {}, es.untrustedCaFile);
    assert.equal(tls.code, 1, tls.out);
    assert.ok(tls.out.includes('tally: ES_TLS: '), tls.out);
    const wrong = `wrong-${es.writer.password}`;
    const auth = await tallyRun(['sink', 'elasticsearch'], [`elasticsearch.username=${es.writer.username}`], { TALLY_ELASTICSEARCH__PASSWORD: wrong });
    assert.equal(auth.code, 1, auth.out);
    assert.match(auth.out, /tally: ES_AUTH: .*refused the credentials, user "tally-writer" with the password from elasticsearch\.password/);
    for (const out of [tls.out, auth.out]) assert.ok(!out.includes(es.writer.password), 'password in the output');
  });

  test('credentials rotated while the bulk writer runs: the next write stops with ES_AUTH naming the URL and the user, instead of being sent again', async () => {
    const config = loadConfig({ env: {}, sets: [`elasticsearch.url=${es.url}`, `elasticsearch.caFile=${es.caFile}`, `elasticsearch.username=${es.writer.username}`, `elasticsearch.passwordFile=${secretFile('es-rotated', es.writer.password)}`] });
    const client = createEsClient(config.elasticsearch);
    const log = capturingLogger();
    const writer = retryingBulkWriter({ client, log: log.log, elasticsearch: config.elasticsearch, concurrency: 1, flushBytes: 1_000_000, requestTimeoutMs: 30_000, maxBackoffMs: 1000, signal: new AbortController().signal });
    const job = (ids: string[]) => ({
      items: ids,
      documents: (pending: string[]) => pending.map((id) => ({ index: `${prefix}rotated`, id, json: JSON.stringify({ id }), operation: 'index' as const }) as unknown as PreparedDocument),
      itemOf: (document: PreparedDocument) => document.id,
      noun: 'documents',
    });
    const fresh = `rotated-${es.writer.password}`;
    try {
      assert.deepEqual(await writer.write(job(['before'])), [], 'written with the credentials of the start');
      es.rotateWriterPassword(fresh);
      // the node reloads its file realm every few seconds: wait until the old password is refused
      await eventually('the old password refused', 120_000, async () => ((await es.requestAs(es.writer, 'GET', '/_security/_authenticate')).status === 401 ? true : undefined));
      const started = Date.now();
      await assert.rejects(writer.write(job(['after'])), (error: unknown) => {
        assert.ok(error instanceof TallyError, String(error));
        assert.equal(error.code, 'ES_AUTH', error.message);
        assert.equal(error.retriable, false);
        assert.match(error.message, /^writing 1 documents: Elasticsearch at https:\/\/127\.0\.0\.1:\d+ refused the credentials, user "tally-writer" with the password from elasticsearch\.passwordFile .* \(401 /);
        assert.ok(!error.message.includes(es.writer.password) && !error.message.includes(fresh), 'no password in the message');
        return true;
      });
      assert.ok(Date.now() - started < 30_000, 'stopped at once, not after retries');
      assert.ok(!log.text().includes('sending them again'), 'the refused write was not sent again');
    } finally {
      es.rotateWriterPassword(es.writer.password);
      await client.close();
    }
  });

  test('tally setup with an API key from the environment', async (t) => {
    const key = apiKeyOrSkip(t);
    if (!key) return;
    const result = await setup([], { TALLY_ELASTICSEARCH__API_KEY: key });
    assert.equal(result.code, 0, result.out);
    assert.ok(!result.out.includes(key));
  });

  test('tally setup with an API key from elasticsearch.apiKeyFile', async (t) => {
    const key = apiKeyOrSkip(t);
    if (!key) return;
    const result = await setup([`elasticsearch.apiKeyFile=${secretFile('es-key', key)}`]);
    assert.equal(result.code, 0, result.out);
    assert.ok(!result.out.includes(key));
  });
});
