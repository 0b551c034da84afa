import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { TestContext } from 'node:test';
import { loadConfig } from '../../pipeline/config/load.js';
import type { KafkaBackendName, TallyConfig } from '../../pipeline/config/types.js';
import { createBus } from '../../pipeline/bus/index.js';
import type { Bus } from '../../pipeline/bus/types.js';
import { probeCapabilities, type EsCapabilities } from '../../pipeline/elasticsearch/capabilities.js';
import { createEsClient } from '../../pipeline/elasticsearch/client.js';
import { createLogger, type Logger } from '../../pipeline/log.js';

/**
 * The real services the tests talk to. scripts/test.mjs provides them (external endpoints from
 * KAFKA_BROKERS / ELASTICSEARCH_URL, testcontainers where a Docker engine answers, or the local
 * services) and passes them here through the environment. TALLY_TEST_INFRA says which.
 */
export const infraMode = (process.env.TALLY_TEST_INFRA ?? 'local') as 'local' | 'docker' | 'external';

export function testConfig(overrides: string[] = []): TallyConfig {
  return loadConfig({ env: process.env, sets: ['log.level=warn', ...overrides] });
}

export const testLog: Logger = createLogger(process.env.TALLY_TEST_LOG_LEVEL ?? 'error', { pretty: false });

export function testBus(backend: KafkaBackendName, overrides: string[] = []): Bus {
  const config = testConfig([`kafka.backend=${backend}`, ...overrides]);
  return createBus(config.kafka, testLog);
}

/** The tests' own client waits longer than a stage's would: on a busy machine a bulk of fixtures can take over 30 s. */
export function esClient() {
  const { elasticsearch } = testConfig();
  return createEsClient({ ...elasticsearch, requestTimeoutMs: Math.max(elasticsearch.requestTimeoutMs, 120_000) });
}

/** A name no other test (or earlier run) uses: topics, groups and indices are never shared. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

let capabilities: Promise<EsCapabilities> | undefined;
export function esCapabilities(): Promise<EsCapabilities> {
  capabilities ??= probeCapabilities(testConfig().elasticsearch.url);
  return capabilities;
}

/** Skip, saying why, when the Elasticsearch node lacks a module; never a silent pass. */
export async function requireEsCapability(t: TestContext, capability: 'dataStreams' | 'ilm' | 'ingestProcessors' | 'security'): Promise<boolean> {
  const caps = await esCapabilities();
  if (caps[capability]) return true;
  const reason = `needs Elasticsearch capability "${capability}", absent on this node (modules: ${caps.modules.join(', ')})`;
  process.stdout.write(`# SKIP ${t.name}: ${reason}\n`);
  t.skip(reason);
  return false;
}

/** Poll until `check` returns a value or time runs out. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * Poll until `check` says done, for as long as its progress figure keeps growing: fails only when it
 * stood still for `stallMs` (or the whole wait passed `capMs`), so a busy machine gets the time it
 * needs and a stuck pipeline still fails in bounded time.
 */
export async function whileProgressing<T>(what: string, stallMs: number, capMs: number, check: () => Promise<{ done?: T; progress: number; detail: string }>): Promise<T> {
  const started = Date.now();
  let best = -Infinity;
  let movedAt = started;
  let detail = 'nothing observed yet';
  for (;;) {
    try {
      const seen = await check();
      if (seen.done !== undefined) return seen.done;
      detail = seen.detail;
      if (seen.progress > best) {
        best = seen.progress;
        movedAt = Date.now();
      }
    } catch (error) {
      detail = `probe failed: ${(error as Error).message}`;
    }
    const now = Date.now();
    if (now - movedAt > stallMs) throw new Error(`no progress for ${Math.round((now - movedAt) / 1000)} s waiting for ${what}: ${detail}`);
    if (now - started > capMs) throw new Error(`timed out after ${Math.round(capMs / 1000)} s waiting for ${what} (still progressing): ${detail}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export const backends: KafkaBackendName[] = ['kafkajs', 'rdkafka'];

/** TALLY_TEST_PORTS=<low>-<high>: the ports a test may take, for a run that must stay in a given block (a shared machine). */
export function portRange(): { low: number; high: number } | undefined {
  const match = /^(\d+)-(\d+)$/.exec(process.env.TALLY_TEST_PORTS ?? '');
  return match ? { low: Number(match[1]), high: Number(match[2]) } : undefined;
}

const canListen = (port: number): Promise<net.Server | undefined> =>
  new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
const closed = (server: net.Server | undefined): Promise<void> => new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
let nextInRange = 0;

/** A loopback TCP port free right now, for a server a test starts as a process (from TALLY_TEST_PORTS when set). */
export async function freePort(): Promise<number> {
  const range = portRange();
  if (range) {
    const size = range.high - range.low + 1;
    for (let attempt = 0; attempt < size; attempt += 1) {
      const port = range.low + (nextInRange++ % size);
      const server = await canListen(port);
      await closed(server);
      if (server) return port;
    }
    throw new Error(`no free loopback port in TALLY_TEST_PORTS ${range.low}-${range.high}`);
  }
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The first of `count` consecutive loopback ports that are all free right now (a local Kafka
 * cluster numbers its nodes' ports from a base), picked below the kernel's ephemeral range.
 */
export async function freePortRun(count: number): Promise<number> {
  const range = portRange() ?? { low: 20_000, high: 31_999 };
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const base = range.low + Math.floor(Math.random() * Math.max(1, range.high - range.low + 2 - count));
    const servers = await Promise.all(Array.from({ length: count }, (_, i) => canListen(base + i)));
    await Promise.all(servers.map((server) => server && new Promise<void>((resolve) => server.close(() => resolve()))));
    if (servers.every(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free loopback ports found between 20000 and 32000`);
}
