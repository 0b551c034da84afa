import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { createBus } from '../../../pipeline/bus/index.js';
import { isTallyError } from '../../../pipeline/errors.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { startServices, stopServices } from '../../../pipeline/services/index.js';
import { backends, eventually, infraMode, testConfig, testLog, uniqueName } from '../../support/world.js';

const run = promisify(execFile);
const tally = path.join(projectRoot, 'bin/tally');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * A Kafka of its own (own folder, own ports), so stopping it disturbs no other test:
 * the `tally services` lifecycle, and producing while the broker is down.
 */
describe('a dedicated local Kafka: services lifecycle and broker outage', { timeout: 400_000, skip: infraMode !== 'local' ? `needs the local services (infrastructure is ${infraMode})` : false }, () => {
  const dir = path.join('.tally', uniqueName('test-kafka'));
  let env: NodeJS.ProcessEnv;
  let sets: string[];
  let pid: number | undefined;

  before(async () => {
    const port = await freePort();
    const controllerPort = await freePort();
    sets = [`services.dir=${dir}`, `services.kafka.port=${port}`, `services.kafka.controllerPort=${controllerPort}`, `kafka.brokers=["127.0.0.1:${port}"]`];
    env = { ...process.env, KAFKA_BROKERS: `127.0.0.1:${port}`, TALLY_SERVICES__DIR: dir, TALLY_SERVICES__KAFKA__PORT: String(port), TALLY_SERVICES__KAFKA__CONTROLLER_PORT: String(controllerPort) };
  });

  after(async () => {
    await stopServices(testConfig(sets), ['kafka']).catch(() => undefined);
    rmSync(path.join(projectRoot, dir), { recursive: true, force: true });
  });

  test('services start --json starts Kafka and reports it; a second start reuses it in under 5 s', async () => {
    const first = JSON.parse((await run(tally, ['services', 'start', 'kafka', '--json'], { env })).stdout) as { services: { name: string; up: boolean; pid: number; endpoint: string; version: string; reused: boolean }[] };
    const kafka = first.services.find((s) => s.name === 'kafka');
    assert.ok(kafka?.up, 'kafka is up');
    assert.equal(kafka.reused, false);
    assert.equal(kafka.version, '4.1.2');
    assert.equal(kafka.endpoint, env.KAFKA_BROKERS);
    pid = kafka.pid;

    const started = Date.now();
    const second = JSON.parse((await run(tally, ['services', 'start', 'kafka', '--json'], { env })).stdout) as typeof first;
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `second start took ${elapsed} ms`);
    assert.equal(second.services[0]?.reused, true);
    assert.equal(second.services[0]?.pid, pid, 'no new process');

    const status = JSON.parse((await run(tally, ['services', 'status', '--json'], { env }).catch((e: { stdout: string }) => e)).stdout) as typeof first;
    const reported = status.services.find((s) => s.name === 'kafka');
    assert.equal(reported?.up, true);
    assert.equal(reported?.pid, pid);
  });

  for (const backend of backends) {
    test(`${backend}: a produce while the broker is stopped fails retriably and succeeds after restart`, async () => {
      const config = testConfig(sets);
      const bus = createBus({ ...config.kafka, backend }, testLog);
      const topic = uniqueName(`restart-${backend}`);
      const admin = await bus.admin();
      await admin.createTopics([{ topic, partitions: 1 }]);
      await admin.close();
      const producer = await bus.producer({ retries: 1, timeoutMs: 4000 });
      await producer.send([{ topic, value: 'before' }]);

      await stopServices(config, ['kafka'], { keepData: true });
      try {
        const failure = await producer.send([{ topic, value: 'while-down' }]).then(
          () => undefined,
          (error: unknown) => error,
        );
        assert.ok(failure, 'a produce while the broker is down must not report success');
        assert.ok(isTallyError(failure, 'KAFKA_RETRIABLE'), `expected KAFKA_RETRIABLE, got ${String(failure)}`);
        assert.equal(failure.retriable, true);
      } finally {
        await startServices(config, ['kafka']);
      }

      await eventually('produce succeeds after restart', 90_000, async () => {
        await producer.send([{ topic, value: 'after' }]);
        return true;
      });
      await producer.close();

      const values: string[] = [];
      const consumer = await bus.consumer({ groupId: uniqueName('g'), topics: [topic], fromBeginning: true });
      await consumer.run((messages) => {
        for (const m of messages) values.push(m.value?.toString() ?? '');
      });
      await eventually('records read back', 60_000, () => (values.includes('after') ? true : undefined));
      await consumer.close();
      assert.equal(values[0], 'before', 'data written before the restart survived it');
    });
  }

  test('services stop stops only our broker, by pid, and leaves no process', async () => {
    const state = JSON.parse(readFileSync(path.join(projectRoot, dir, 'run/services.json'), 'utf8')) as { kafka?: { pid: number } };
    const current = state.kafka?.pid;
    assert.ok(current, 'state records the broker pid');
    const out = JSON.parse((await run(tally, ['services', 'stop', 'kafka', '--json'], { env })).stdout) as { stopped: string[] };
    assert.deepEqual(out.stopped, ['kafka']);
    assert.equal(existsSync(`/proc/${current}`), false, `broker process ${current} is gone`);
    assert.equal(existsSync(path.join(projectRoot, dir, 'run/kafka')), false, 'per-run data removed');
    const again = JSON.parse((await run(tally, ['services', 'stop', 'kafka', '--json'], { env })).stdout) as { stopped: string[] };
    assert.deepEqual(again.stopped, [], 'a second stop finds nothing of ours');
  });
});
