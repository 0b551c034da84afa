import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBeatsServer, type BeatsServer, type BeatsServerOptions } from '../../../connectors/sources/beats/server.js';
import type { Admin, Bus, Producer } from '../../../pipeline/bus/types.js';
import { testLog, uniqueName } from '../../support/world.js';
import { makeCertificates, opensslAvailable, type TestCertificates } from '../../support/certs.js';
import { valueOf } from '../../connectors/sources/beats/support.js';
import { isolatedBus } from '../../support/isolated-bus.js';
import { readAll } from '../../support/topic-records.js';

/**
 * `tally beats` against Elastic's go-lumber client (github.com/elastic/go-lumber/client/v2, what
 * Filebeat's output.logstash is built on), fetched from the Go module proxy and built here.
 */
const source = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/interop/lumberjack');
const goMissing = spawnSync('go', ['version']).error ? 'the go toolchain is not installed' : false;
if (goMissing) process.stdout.write(`# SKIP go-lumber interop: ${goMissing}\n`);

interface Report {
  sent: number;
  acked: number;
  windows: number;
  errors: string[];
}

let binary = '';
let buildProblem: string | undefined;
let workDir = '';

function build(): void {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'tally-go-lumber-'));
  binary = path.join(workDir, 'lumberjack-client');
  const result = spawnSync('go', ['build', '-o', binary, '.'], { cwd: source, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' }, timeout: 600_000 });
  if (result.status === 0) return;
  const output = `${result.stdout}${result.stderr}${result.error?.message ?? ''}`;
  // no route to the module proxy is an environment limit, anything else is a real failure
  if (/dial tcp|no such host|proxy\.golang\.org|i\/o timeout|connection refused/.test(output)) buildProblem = `go build could not fetch github.com/elastic/go-lumber: ${output.trim().split('\n').pop()}`;
  else throw new Error(`go build failed:\n${output}`);
}

function skipped(t: TestContext): boolean {
  if (!buildProblem) return false;
  process.stdout.write(`# SKIP ${t.name}: ${buildProblem}\n`);
  t.skip(buildProblem);
  return true;
}

function runClient(args: Record<string, string | number>): Promise<{ report: Report; code: number }> {
  const argv = Object.entries(args).map(([k, v]) => `-${k}=${v}`);
  return new Promise((resolve, reject) => {
    execFile(binary, argv, { timeout: 120_000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ report: JSON.parse(line) as Report, code: error ? Number((error as { code?: number }).code ?? 1) : 0 });
      } catch {
        reject(new Error(`lumberjack-client printed no report: ${stdout} ${stderr} ${error?.message ?? ''}`));
      }
    });
  });
}

/** The event the Go client sends as number n (see batchesOf in main.go). */
function expectedEvent(n: number, run: string): Record<string, unknown> {
  return {
    '@timestamp': '2024-05-01T10:00:00.000Z',
    '@metadata': { beat: 'filebeat', type: '_doc', version: '8.11.0' },
    message: JSON.stringify({ action: 'a', level: 'accounting', n, resource: 'r', run, serviceid: 'interop', timestamp: '2024-05-01T10:00:00Z', userid: 'u' }),
    log: { offset: n * 100, file: { path: '/var/log/interop.json' } },
    input: { type: 'filestream' },
    agent: { type: 'go-lumber', name: 'interop' },
    tags: ['accounting', '<&>'],
    n,
  };
}

describe('go-lumber (Filebeat\'s lumberjack client) against tally beats, real Kafka', { timeout: 900_000, skip: goMissing }, () => {
  let bus: Bus;
  let admin: Admin;
  let raw: string;
  let producer: Producer;
  const servers: BeatsServer[] = [];

  before(async () => {
    build();
    ({ bus, admin, raw } = await isolatedBus('kafkajs'));
    producer = await bus.producer();
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close({ timeoutMs: 2000 })));
    await producer.close();
    await admin.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const start = async (config: BeatsServerOptions['config'] = {}, withProducer: Producer = producer): Promise<BeatsServer> => {
    const server = await startBeatsServer({ config: { host: '127.0.0.1', port: 0, ...config }, bus, log: testLog, producer: withProducer });
    servers.push(server);
    return server;
  };

  /** Every event of this run is in Kafka exactly once, exactly as go-lumber encoded it plus source.address. */
  async function assertInKafka(run: string, count: number): Promise<void> {
    const mine = (await readAll(bus, admin, raw, 0, { settleMs: 300 })).filter((m) => String(m.value).includes(`\\"run\\":\\"${run}\\"`));
    assert.equal(mine.length, count, 'each event once');
    const byN = new Map<number, Record<string, unknown>>();
    for (const m of mine) {
      const text = m.value?.toString('utf8') ?? '';
      assert.ok(text.includes('"tags":["accounting","\\u003c\\u0026\\u003e"]'), 'the bytes are go-lumber\'s own (Go escapes <&> in JSON), not re-encoded');
      const value = valueOf(m);
      const { source: origin, ...event } = value;
      assert.match(String((origin as { address: string }).address), /^127\.0\.0\.1:\d+$/);
      byN.set(event.n as number, event);
    }
    for (let n = 0; n < count; n += 1) assert.deepEqual(byN.get(n), expectedEvent(n, run), `event ${n}`);
  }

  test('async client, pipelining 2, windows of 50, zlib level 3 (Filebeat\'s defaults but the window size)', async (t) => {
    if (skipped(t)) return;
    const server = await start();
    const run = uniqueName('async');
    const { report, code } = await runClient({ addr: `127.0.0.1:${server.port}`, events: 1000, window: 50, compression: 3, pipelining: 2, run });
    assert.deepEqual(report, { sent: 1000, acked: 1000, windows: 20, errors: [] });
    assert.equal(code, 0);
    await assertInKafka(run, 1000);
  });

  test('sync client, uncompressed, windows of 7 (the last one short)', async (t) => {
    if (skipped(t)) return;
    const server = await start();
    const run = uniqueName('sync');
    const { report } = await runClient({ addr: `127.0.0.1:${server.port}`, events: 100, window: 7, compression: 0, pipelining: 0, run });
    assert.deepEqual(report, { sent: 100, acked: 100, windows: 15, errors: [] });
    await assertInKafka(run, 100);
  });

  test('keepalives: go-lumber waits through a Kafka slower than its own timeout, because 2A 0 resets its read deadline', async (t) => {
    if (skipped(t)) return;
    const slow: Producer = { send: async (records) => { await new Promise((r) => setTimeout(r, 2500)); await producer.send(records); }, close: async () => undefined };
    const kept = await start({ keepaliveMs: 250 }, slow);
    const run = uniqueName('keepalive');
    const { report } = await runClient({ addr: `127.0.0.1:${kept.port}`, events: 20, window: 10, pipelining: 2, timeout: '1s', run });
    assert.deepEqual(report, { sent: 20, acked: 20, windows: 2, errors: [] }, 'each window took 2.5 s with a 1 s client timeout');
    await assertInKafka(run, 20);

    // the control: keepalives rarer than the client's timeout, and go-lumber gives up
    const rare = await start({ keepaliveMs: 5000 }, slow);
    const control = await runClient({ addr: `127.0.0.1:${rare.port}`, events: 10, window: 10, pipelining: 0, timeout: '1s', run: uniqueName('control') });
    assert.equal(control.report.acked, 0);
    assert.match(control.report.errors.join(' '), /timeout/);
  });

  test('mutual TLS: go-lumber with a client certificate from the CA list is served, without one it is refused', { skip: opensslAvailable() ? false : 'the openssl CLI is not installed' }, async (t) => {
    if (skipped(t)) return;
    const certs: TestCertificates = makeCertificates();
    try {
      const server = await start({ tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFiles: [certs.ca], clientCertificates: 'required' } });
      const run = uniqueName('mtls');
      const served = await runClient({ addr: `127.0.0.1:${server.port}`, events: 30, window: 10, run, ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
      assert.deepEqual(served.report, { sent: 30, acked: 30, windows: 3, errors: [] });
      await assertInKafka(run, 30);
      const refused = await runClient({ addr: `127.0.0.1:${server.port}`, events: 5, window: 5, pipelining: 0, timeout: '3s', run: uniqueName('nocert'), ca: certs.ca });
      assert.equal(refused.report.acked, 0);
      assert.notEqual(refused.code, 0);
    } finally {
      certs.remove();
    }
  });
});
