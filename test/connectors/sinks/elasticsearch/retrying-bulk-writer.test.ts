import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@elastic/elasticsearch';
import { adaptiveTimeout } from '../../../../connectors/sinks/elasticsearch/adaptive-timeout.js';
import type { PreparedDocument } from '../../../../connectors/sinks/elasticsearch/batch.js';
import { retryingBulkWriter, type BulkJob, type RetryingBulkWriterOptions } from '../../../../connectors/sinks/elasticsearch/retrying-bulk-writer.js';
import { indexedTopic } from '../../../../connectors/sinks/elasticsearch/topics.js';
import { createEsClient } from '../../../../pipeline/elasticsearch/client.js';
import { isTallyError } from '../../../../pipeline/errors.js';
import { esClient, eventually, testConfig, testLog, uniqueName } from '../../../support/world.js';
import { startEsProxy, type EsProxy, type ProxyMode } from './es-proxy.js';

const spec = indexedTopic('accounting.usage');

function documentsFor(index: string, count: number, source = (n: number): unknown => ({ n })): PreparedDocument[] {
  return Array.from({ length: count }, (_, n) => ({
    message: { topic: 'accounting.usage', partition: 0, offset: String(n), key: null, value: null, headers: {}, timestamp: 0, generation: 0 },
    spec,
    id: `doc-${n}`,
    index,
    operation: 'index',
    json: JSON.stringify(source(n)),
  }));
}

/** The job of documents written as they are, counting what the writer reports. */
function plainJob(items: PreparedDocument[]): BulkJob<PreparedDocument> & { passes: number[]; written: number; retried: number } {
  const job = {
    items,
    passes: [] as number[],
    written: 0,
    retried: 0,
    documents: (pending: PreparedDocument[]) => {
      job.passes.push(pending.length);
      return pending;
    },
    itemOf: (document: PreparedDocument) => document,
    noun: 'documents',
    counts: { written: (n: number) => void (job.written += n), retried: (n: number) => void (job.retried += n) },
  };
  return job;
}

test('the request timeout doubles after each timed-out pass, up to 16 times, and comes back after one that completes', () => {
  const timeout = adaptiveTimeout(100);
  const seen: number[] = [];
  for (let pass = 0; pass < 6; pass += 1) {
    seen.push(timeout.current());
    timeout.after({ timedOut: true });
  }
  seen.push(timeout.current());
  timeout.after({});
  seen.push(timeout.current());
  assert.deepEqual(seen, [100, 200, 400, 800, 1600, 1600, 1600, 100]);
});

describe('the retrying bulk writer on the real Elasticsearch', { timeout: 240_000 }, () => {
  const client = esClient();
  const prefix = uniqueName('tally-bulk-writer');
  const proxies: EsProxy[] = [];
  const clients: Client[] = [client];
  after(async () => {
    for (const proxy of proxies) await proxy.close();
    await client.indices.delete({ index: `${prefix}-*` }).catch(() => undefined);
    for (const c of clients) await c.close();
  });

  async function throughProxy(mode: ProxyMode): Promise<{ proxy: EsProxy; client: Client }> {
    const proxy = await startEsProxy(testConfig().elasticsearch.url, 0, mode);
    proxies.push(proxy);
    const proxied = createEsClient({ ...testConfig().elasticsearch, url: proxy.url });
    clients.push(proxied);
    return { proxy, client: proxied };
  }

  const options = (on: Client, signal: AbortSignal): RetryingBulkWriterOptions => ({ client: on, log: testLog, concurrency: 1, flushBytes: 5_000_000, requestTimeoutMs: 30_000, maxBackoffMs: 50, signal });

  test('a bulk request slower than the timeout: the timeout doubles until a pass completes', async () => {
    const { proxy, client: slow } = await throughProxy('pass');
    proxy.bulkDelayMs = () => 1500;
    const job = plainJob(documentsFor(`${prefix}-slow`, 5));
    // with a fixed 250 ms timeout no pass would ever complete, and this would give up
    const refused = await retryingBulkWriter({ ...options(slow, AbortSignal.timeout(90_000)), requestTimeoutMs: 250 }).write(job);
    assert.deepEqual(refused, []);
    assert.equal(job.written, 5);
    // 250, 500 and 1000 ms time out; 2000 ms is the first to outlast the 1500 ms the proxy holds each request
    assert.ok(proxy.bulkRequests >= 4, `${proxy.bulkRequests} bulk requests`);
    assert.equal(job.retried, 5 * (job.passes.length - 1));
  });

  test('the grown timeout outlasts the client\'s requestTimeoutMs (undici would cut every request back to it)', async () => {
    const proxy = await startEsProxy(testConfig().elasticsearch.url, 0, 'pass');
    proxies.push(proxy);
    const short = createEsClient({ ...testConfig().elasticsearch, url: proxy.url, requestTimeoutMs: 250 });
    clients.push(short);
    proxy.bulkDelayMs = () => 1500;
    const job = plainJob(documentsFor(`${prefix}-capped`, 5));
    // before: every pass ended after 250 ms whatever the writer asked, until this signal gave up
    const refused = await retryingBulkWriter({ ...options(short, AbortSignal.timeout(60_000)), requestTimeoutMs: 250 }).write(job);
    assert.deepEqual(refused, []);
    assert.equal(job.written, 5);
    await assert.rejects(short.bulk({ operations: [{ index: { _index: `${prefix}-capped`, _id: 'late' } }, { n: 1 }] }), (error: Error) => error.name === 'TimeoutError', 'a request that asks for nothing else still times out at requestTimeoutMs');
  });

  test('items answered 429 or 503 are sent again, only those, each pass made of what is pending', async () => {
    const { proxy, client: partial } = await throughProxy('partial');
    proxy.partialRequests = 2;
    const index = `${prefix}-partial`;
    const job = plainJob(documentsFor(index, 8));
    const refused = await retryingBulkWriter(options(partial, new AbortController().signal)).write(job);
    assert.deepEqual(refused, []);
    assert.deepEqual(job.passes, [8, 4, 2], 'half of each partial request held back, then the rest');
    assert.equal(proxy.heldBack, 6);
    assert.deepEqual([job.written, job.retried], [8, 6]);
    await client.indices.refresh({ index });
    assert.equal((await client.count({ index })).count, 8);
  });

  test('a document Elasticsearch refuses for good comes back with its reason, the others are written', async () => {
    const index = `${prefix}-mapped`;
    await client.indices.create({ index, mappings: { properties: { n: { type: 'long' } } } });
    const job = plainJob(documentsFor(index, 4, (n) => ({ n: n % 2 ? `not a number ${n}` : n })));
    const refused = await retryingBulkWriter(options(client, new AbortController().signal)).write(job);
    assert.deepEqual(refused.map((r) => [r.item.id, r.reason.code, r.reason.rule]).sort(), [['doc-1', 'ES_PERMANENT', 'document_parsing_exception'], ['doc-3', 'ES_PERMANENT', 'document_parsing_exception']]);
    assert.deepEqual(job.passes, [4]);
    assert.equal(job.written, 2);
  });

  test('stopping while Elasticsearch is unavailable ends the wait at once with ES_RETRIABLE', async () => {
    const { client: down } = await throughProxy('unavailable');
    const stop = new AbortController();
    const job = plainJob(documentsFor(`${prefix}-down`, 3));
    const writing = retryingBulkWriter({ ...options(down, stop.signal), maxBackoffMs: 60_000 }).write(job);
    await eventually('passes answered 503', 30_000, () => (job.retried >= 6 ? true : undefined));
    const stoppedAt = Date.now();
    stop.abort();
    await assert.rejects(writing, (error) => isTallyError(error, 'ES_RETRIABLE') && /stopping with 3 documents/.test(error.message));
    assert.ok(Date.now() - stoppedAt < 10_000, 'not after the backoff');
  });
});
