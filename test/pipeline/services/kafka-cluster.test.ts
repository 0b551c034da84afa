import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { createBus } from '../../../pipeline/bus/index.js';
import type { Bus } from '../../../pipeline/bus/types.js';
import { loadConfig } from '../../../pipeline/config/load.js';
import type { TallyConfig } from '../../../pipeline/config/types.js';
import { isTallyError } from '../../../pipeline/errors.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { servicesStatus, startServices, stopServices, type ServiceStatus } from '../../../pipeline/services/index.js';
import { killKafkaNode, startKafkaNode } from '../../../pipeline/services/kafka.js';
import { servicesLayout } from '../../../pipeline/services/layout.js';
import { readState, writeState, type KafkaState } from '../../../pipeline/services/state.js';
import { ensureTopics } from '../../../pipeline/topics.js';
import { backends, eventually, freePortRun, infraMode, testLog, uniqueName } from '../../support/world.js';
import { processesMentioning } from '../../support/processes.js';

const run = promisify(execFile);
const tally = path.join(projectRoot, 'bin/tally');

/**
 * A three-broker local Kafka of its own (temporary folder, free ports): quorum and readiness,
 * replicated topics, and acks=all writes through the Bus while a partition leader is SIGKILLed and
 * restarted. Jars come from the checkout's cache when it has them.
 */
describe('a local Kafka cluster of three brokers', { timeout: 300_000, skip: infraMode !== 'local' ? `needs the local services (infrastructure is ${infraMode})` : false }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-cluster-'));
  const pids = new Set<number>();
  let config: TallyConfig;
  let env: NodeJS.ProcessEnv;
  let bus: Bus;
  let admin: kafkajs.Admin;

  const kafkaStatus = async (): Promise<ServiceStatus> => {
    const status = (await servicesStatus(config)).find((s) => s.name === 'kafka');
    assert.ok(status, 'a kafka status');
    return status;
  };
  const layout = () => servicesLayout(config.services);
  /** The state file's cluster; `save` writes it back after a node changed. */
  const clusterState = (): { state: KafkaState; save: () => void } => {
    const services = readState(layout().stateFile);
    const state = services.kafka;
    assert.ok(state?.nodes, 'the state file records the nodes');
    return { state, save: () => writeState(layout().stateFile, services) };
  };

  before(async () => {
    const cache = path.join(projectRoot, '.tally', 'cache');
    if (existsSync(cache)) symlinkSync(cache, path.join(dir, 'cache'));
    const base = await freePortRun(6);
    const sets = [`services.dir=${dir}`, 'services.kafka.brokers=3', `services.kafka.port=${base}`, `services.kafka.controllerPort=${base + 1}`];
    config = loadConfig({ env: {}, sets: ['log.level=warn', ...sets] });
    env = { ...process.env, TALLY_SERVICES__DIR: dir, TALLY_SERVICES__KAFKA__BROKERS: '3', TALLY_SERVICES__KAFKA__PORT: String(base), TALLY_SERVICES__KAFKA__CONTROLLER_PORT: String(base + 1) };
    delete env.KAFKA_BROKERS;
  });

  after(async () => {
    await admin?.disconnect().catch(() => undefined);
    await stopServices(config, ['kafka']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('start waits for all three brokers; status lists every node, three voters and one quorum leader', async (t) => {
    const started = Date.now();
    const [kafka] = await startServices(config, ['kafka']);
    t.diagnostic(`three brokers ready in ${Date.now() - started} ms`);
    assert.equal(kafka?.up, true);
    assert.equal(kafka.endpoint, config.kafka.brokers.join(','));
    assert.equal(config.kafka.brokers.length, 3, 'the default bootstrap lists every node');
    assert.deepEqual(
      kafka.brokers?.map((b) => [b.nodeId, b.endpoint, b.voter, b.up]),
      config.kafka.brokers.map((endpoint, i) => [i + 1, endpoint, true, true]),
    );
    for (const b of kafka.brokers ?? []) pids.add(b.pid);
    assert.equal(new Set(kafka.brokers?.map((b) => b.controllerPort)).size, 3, 'a controller port per voter');

    const leaders = await eventually('a quorum leader', 60_000, async () => {
      const found = (await kafkaStatus()).brokers?.filter((b) => b.activeController) ?? [];
      return found.length === 1 ? found : undefined;
    });
    t.diagnostic(`quorum leader: node ${leaders[0]?.nodeId}`);

    const cli = await run(tally, ['services', 'status', '--json'], { env }).catch((error: { stdout: string }) => error);
    const reported = (JSON.parse(cli.stdout) as { services: ServiceStatus[] }).services.find((s) => s.name === 'kafka');
    assert.equal(reported?.mode, 'local');
    assert.equal(reported.up, true);
    assert.deepEqual(reported.brokers?.map((b) => b.nodeId), [1, 2, 3]);

    const again = Date.now();
    const [reused] = await startServices(config, ['kafka']);
    assert.equal(reused?.reused, true, 'a second start reuses the running cluster');
    assert.ok(Date.now() - again < 10_000, `the second start took ${Date.now() - again} ms`);
  });

  test('topics Tally creates get replication 3 and min.insync.replicas 2, or topics.minInsyncReplicas', async () => {
    bus = createBus(config.kafka, testLog);
    admin = new kafkajs.Kafka({ brokers: config.kafka.brokers, clientId: 'cluster-test', logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const byDefault = uniqueName('cluster-default');
    const strict = uniqueName('cluster-strict');
    await ensureTopics(bus, config.topics, [byDefault]);
    await ensureTopics(bus, { ...config.topics, minInsyncReplicas: 3 }, [strict]);

    const metadata = await admin.fetchTopicMetadata({ topics: [bus.topic(byDefault), bus.topic(strict)] });
    for (const topic of metadata.topics) {
      assert.equal(topic.partitions.length, config.topics.partitions, `${topic.name}: topics.partitions`);
      for (const p of topic.partitions) assert.equal(p.replicas.length, 3, `${topic.name}[${p.partitionId}] has 3 replicas`);
    }
    const minIsr = async (topic: string): Promise<string | undefined> => {
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: bus.topic(topic), configNames: ['min.insync.replicas'] }] });
      return described.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue;
    };
    assert.equal(await minIsr(byDefault), '2', 'the broker-wide min.insync.replicas');
    assert.equal(await minIsr(strict), '3', 'topics.minInsyncReplicas as a topic config');
  });

  for (const backend of backends) {
    // kafkajs 2.2.4 resolves a send whose retry skipped the partitions that moved to a broker which
    // had already answered for others (tulios/kafkajs#1303): without Tally's check of every record's
    // partition against the acknowledgements (pipeline/bus/kafkajs.ts unacknowledged), acknowledged
    // records were lost here in 3 of 3 runs.
    test(`${backend}: acks=all writes through the Bus go on while a partition leader is SIGKILLed and restarted; every acknowledged record is read back`, async (t) => {
      const backendBus = createBus({ ...config.kafka, backend }, testLog);
      const topic = backendBus.topic(uniqueName(`cluster-acks-${backend}`));
      await ensureTopics(backendBus, config.topics, [topic]);
      const producer = await backendBus.producer();
      const acked = new Set<string>();
      let sequence = 0;
      let retriableFailures = 0;
      let stopping = false;
      const loop = (async () => {
        while (!stopping) {
          const values = Array.from({ length: 50 }, () => `m-${sequence++}`);
          try {
            await producer.send(values.map((value) => ({ topic, value })));
            for (const value of values) acked.add(value);
          } catch (error) {
            // not acknowledged: may or may not be in the log; only a retriable failure is acceptable
            if (!isTallyError(error, 'KAFKA_RETRIABLE')) throw error;
            retriableFailures += 1;
          }
        }
      })();
      const ackedBeyond = (count: number, what: string, timeoutMs: number) => eventually(what, timeoutMs, () => (acked.size >= count + 500 ? true : undefined));

      try {
        await ackedBeyond(0, 'the first acknowledged writes', 60_000);
        const leader = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.find((p) => p.partitionId === 0)?.leader;
        assert.ok(leader !== undefined && leader > 0, 'partition 0 has a leader');
        const { state, save } = clusterState();
        const killedAt = Date.now();
        await killKafkaNode(state, leader);
        save();
        await ackedBeyond(acked.size, `acks=all writes with node ${leader} killed`, 90_000);
        t.diagnostic(`node ${leader} (leader of partition 0) SIGKILLed; writes went on within ${Date.now() - killedAt} ms`);
        const degraded = await kafkaStatus();
        assert.equal(degraded.up, false, 'a cluster missing a node is not reported up');
        assert.equal(degraded.brokers?.find((b) => b.nodeId === leader)?.up, false);

        const restartedAt = Date.now();
        const node = await startKafkaNode(layout(), config.services.kafka, state, leader);
        save();
        pids.add(node.pid);
        t.diagnostic(`node ${leader} registered again ${Date.now() - restartedAt} ms after its restart`);
        await ackedBeyond(acked.size, 'writes after the restart', 60_000);
        await eventually('the restarted node back in every in-sync replica set', 90_000, async () => {
          const partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions ?? [];
          return partitions.length > 0 && partitions.every((p) => p.isr.length === 3) ? true : undefined;
        });
        assert.equal((await kafkaStatus()).up, true, 'all three brokers registered again');
      } finally {
        stopping = true;
        await loop;
        await producer.close();
      }
      t.diagnostic(`${acked.size} records acknowledged, ${retriableFailures} batches failed retriably (not counted as acknowledged)`);

      const ends = (await admin.fetchTopicOffsets(topic)).map((o) => ({ partition: o.partition, high: Number(o.high) }));
      const seen = new Set<string>();
      const reached = new Map<number, number>();
      const consumer = await backendBus.consumer({ groupId: uniqueName('cluster-read'), topics: [topic], fromBeginning: true });
      await consumer.run((messages) => {
        for (const m of messages) {
          seen.add(m.value?.toString() ?? '');
          reached.set(m.partition, Math.max(reached.get(m.partition) ?? -1, Number(m.offset)));
          consumer.done(m);
        }
      });
      try {
        await eventually('the consumer at the end of every partition', 60_000, () => (ends.every(({ partition, high }) => (reached.get(partition) ?? -1) + 1 >= high) ? true : undefined));
        const missing = [...acked].filter((v) => !seen.has(v));
        assert.equal(missing.length, 0, `${missing.length} of ${acked.size} acknowledged records are not in the topic (${missing.slice(0, 5).join(', ')}…)`);
      } finally {
        await consumer.close();
      }
    });
  }

  test('stop stops every node and leaves no process', async () => {
    const { state } = clusterState();
    for (const node of state.nodes ?? []) pids.add(node.pid);
    assert.deepEqual(await stopServices(config, ['kafka']), ['kafka']);
    await eventually('every broker process gone', 30_000, () => ([...pids].every((pid) => !existsSync(`/proc/${pid}`)) ? true : undefined));
    assert.deepEqual(processesMentioning(dir), [], `no process runs from ${dir}`);
    assert.equal(existsSync(path.join(dir, 'run/kafka')), false, 'per-run data removed');
  });
});
