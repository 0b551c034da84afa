import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@elastic/elasticsearch';
import { installIndexTemplates } from '../../../connectors/sinks/elasticsearch/setup.js';
import { monthlyIndex } from '../../../connectors/sinks/elasticsearch/index-name.js';
import { indexedTopic } from '../../../connectors/sinks/elasticsearch/topics.js';
import { loadConfig } from '../../../pipeline/config/load.js';
import type { TallyConfig } from '../../../pipeline/config/types.js';
import { createEsClient } from '../../../pipeline/elasticsearch/client.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { killElasticsearchNode, startElasticsearchNode } from '../../../pipeline/services/elasticsearch.js';
import { startServices, stopServices, type ServiceStatus } from '../../../pipeline/services/index.js';
import { servicesLayout } from '../../../pipeline/services/layout.js';
import { readState, writeState, type ElasticsearchState } from '../../../pipeline/services/state.js';
import { eventually, freePortRun, infraMode, uniqueName } from '../../support/world.js';
import { processesMentioning } from '../../support/processes.js';

const run = promisify(execFile);
const tally = path.join(projectRoot, 'bin/tally');

/**
 * A two-node local Elasticsearch of its own (temporary folder, free ports): the cluster forms,
 * status lists both nodes, Tally's indices get one replica, and every document written through
 * Tally's client (both nodes listed) stays readable and writable while the node holding the
 * primaries is SIGKILLed, and is there once after it rejoined.
 */
describe('a local Elasticsearch cluster of two nodes', { timeout: 600_000, skip: infraMode !== 'local' ? `needs the local services (infrastructure is ${infraMode})` : false }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-es-cluster-'));
  const pids = new Set<number>();
  let config: TallyConfig;
  let env: NodeJS.ProcessEnv;
  let es: Client;

  const layout = () => servicesLayout(config.services);
  const clusterState = (): { state: ElasticsearchState; save: () => void } => {
    const services = readState(layout().stateFile);
    const state = services.elasticsearch;
    assert.ok(state?.nodes, 'the state file records the nodes');
    return { state, save: () => writeState(layout().stateFile, services) };
  };

  before(async () => {
    // Elasticsearch runs as a service user when the tests run as root: it must enter the folder
    const { chmodSync } = await import('node:fs');
    chmodSync(dir, 0o755);
    const cache = path.join(projectRoot, '.tally', 'cache');
    if (existsSync(cache)) symlinkSync(cache, path.join(dir, 'cache'));
    const base = await freePortRun(4);
    config = loadConfig({ env: {}, sets: ['log.level=warn', `services.dir=${dir}`, 'services.elasticsearch.nodes=2', `services.elasticsearch.httpPort=${base}`, `services.elasticsearch.transportPort=${base + 1}`] });
    env = { ...process.env, TALLY_SERVICES__DIR: dir, TALLY_SERVICES__ELASTICSEARCH__NODES: '2', TALLY_SERVICES__ELASTICSEARCH__HTTP_PORT: String(base), TALLY_SERVICES__ELASTICSEARCH__TRANSPORT_PORT: String(base + 1) };
    delete env.ELASTICSEARCH_URL;
  });

  after(async () => {
    await es?.close().catch(() => undefined);
    await stopServices(config, ['elasticsearch']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('start waits for both nodes in one cluster; status lists them; a second start reuses it', async (t) => {
    const started = Date.now();
    const [status] = await startServices(config, ['elasticsearch']);
    t.diagnostic(`two nodes ready in ${Date.now() - started} ms`);
    assert.equal(status?.up, true);
    assert.equal(status.endpoint, config.elasticsearch.url);
    assert.equal(config.elasticsearch.url.split(',').length, 2, 'the default elasticsearch.url lists both nodes');
    assert.deepEqual(
      status.nodes?.map((n) => [n.nodeId, n.name, n.url, n.up]),
      config.elasticsearch.url.split(',').map((url, i) => [i + 1, `tally-es-${i + 1}`, url, true]),
    );
    for (const n of status.nodes ?? []) pids.add(n.pid);
    es = createEsClient(config.elasticsearch);
    const health = await es.cluster.health();
    assert.equal(health.number_of_nodes, 2, 'one cluster of two nodes, not two clusters of one');
    const { state } = clusterState();
    for (const node of state.nodes ?? []) {
      const yml = readFileSync(path.join(node.confDir, 'elasticsearch.yml'), 'utf8');
      assert.doesNotMatch(yml, /^cluster\.initial_master_nodes/m, `${node.name}: the bootstrap setting is dropped once the cluster formed`);
    }

    const cli = await run(tally, ['services', 'status', '--json'], { env }).catch((error: { stdout: string }) => error);
    const reported = (JSON.parse(cli.stdout) as { services: ServiceStatus[] }).services.find((s) => s.name === 'elasticsearch');
    assert.equal(reported?.mode, 'local');
    assert.equal(reported.up, true);
    assert.deepEqual(reported.nodes?.map((n) => n.nodeId), [1, 2]);

    const again = Date.now();
    const [reused] = await startServices(config, ['elasticsearch']);
    assert.equal(reused?.reused, true, 'a second start reuses the running cluster');
    assert.ok(Date.now() - again < 10_000, `the second start took ${Date.now() - again} ms`);
  });

  test("Tally's indices get one replica; writes and reads go on while the node holding the primaries is SIGKILLed; every document once after it rejoined", async (t) => {
    const prefix = `${uniqueName('escluster')}-`;
    const topic = indexedTopic('accounting.usage');
    await installIndexTemplates(es, { prefix, layout: 'monthly', topics: [topic] });
    const index = monthlyIndex(prefix, topic.indexBase, Date.UTC(2026, 11, 1));
    const write = async (from: number, count: number): Promise<void> => {
      const operations = Array.from({ length: count }, (_, i) => [{ index: { _index: index, _id: `r${from + i}` } }, { id: `r${from + i}`, serviceid: 'escluster', timestamp: '2026-12-01T00:00:00Z' }]).flat();
      const result = await es.bulk({ operations, refresh: 'wait_for' });
      assert.equal(result.errors, false, JSON.stringify(result.items.find((i) => i.index?.error)));
    };
    await write(0, 500);
    await eventually('the replica allocated (green)', 120_000, async () => ((await es.cluster.health({ index })).status === 'green' ? true : undefined));
    const settings = await es.indices.getSettings({ index });
    assert.equal(settings[index]?.settings?.index?.number_of_replicas, '1', 'auto_expand_replicas 0-1 gives one replica on two nodes');

    const shards = (await es.cat.shards({ index, format: 'json' })) as { prirep?: string; node?: string }[];
    const primaryNode = shards.find((s) => s.prirep === 'p')?.node ?? '';
    const victim = Number(/tally-es-(\d+)/.exec(primaryNode)?.[1]);
    const masterNode = ((await es.cat.master({ format: 'json' })) as { node?: string }[])[0]?.node;
    t.diagnostic(`primary on ${primaryNode}, master ${masterNode}`);
    assert.ok(victim === 1 || victim === 2, `the primary is on a Tally node (${primaryNode})`);

    const { state, save } = clusterState();
    await killElasticsearchNode(state, victim);
    save();
    // reads go on from the replica; writes go on once the replica is promoted, or once a master is back
    // (with two master-eligible nodes one of them alone votes): retried like the sink retries
    const count = await eventually('a count from the surviving node', 120_000, async () => (await es.count({ index }).catch(() => undefined))?.count);
    assert.equal(count, 500, 'every document readable while a node is down');
    let writtenDuring = false;
    try {
      writtenDuring = await eventually('a write while the node is down', 30_000, async () => {
        await write(500, 100);
        return true;
      });
    } catch {
      /* the killed node was the master that alone votes: the cluster refuses writes until it is back */
    }
    await startElasticsearchNode(layout(), config.services.elasticsearch, state, victim);
    save();
    if (!writtenDuring) await write(500, 100);
    await eventually('both nodes back, the index green', 180_000, async () => {
      const health = await es.cluster.health({ index });
      return health.number_of_nodes === 2 && health.status === 'green' ? true : undefined;
    });
    await es.indices.refresh({ index });
    assert.equal((await es.count({ index })).count, 600, 'every document once, none lost, none doubled');
    t.diagnostic(`node ${victim} (${primaryNode === masterNode ? 'also the master' : 'not the master'}) killed; write during the outage: ${writtenDuring ? 'accepted' : 'refused until the node was back'}`);
  });

  test('stop stops both nodes and leaves no process', async () => {
    const { state } = clusterState();
    for (const node of state.nodes ?? []) pids.add(node.pid);
    await es.close();
    assert.deepEqual(await stopServices(config, ['elasticsearch']), ['elasticsearch']);
    await eventually('every node process gone', 60_000, () => ([...pids].every((pid) => !existsSync(`/proc/${pid}`)) ? true : undefined));
    assert.deepEqual(processesMentioning(dir), [], `no process runs from ${dir}`);
    assert.equal(existsSync(path.join(dir, 'run/elasticsearch')), false, 'per-run data removed');
  });
});
