import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../../pipeline/config/load.js';
import { TallyError } from '../../../pipeline/errors.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { servicesStatus, startServices, stopServices, type ServiceStatus } from '../../../pipeline/services/index.js';
import { servicesLayout } from '../../../pipeline/services/layout.js';
import { isAlive } from '../../../pipeline/services/process.js';
import { readState } from '../../../pipeline/services/state.js';
import { freePortRun, infraMode } from '../../support/world.js';

const run = promisify(execFile);

/**
 * A Kafka of this checkout started on ports A, then the configuration moved to ports B: status says
 * what runs where, and start refuses (SERVICE_CONFLICT) instead of reusing the one on A.
 */
describe('a service of this checkout on other ports than the configured ones', { timeout: 600_000, skip: infraMode !== 'local' ? `needs the local services (infrastructure is ${infraMode})` : false }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-instances-'));
  const servicesDir = path.join(dir, '.tally');
  mkdirSync(servicesDir);
  const cache = path.join(projectRoot, '.tally', 'cache');
  if (existsSync(cache)) symlinkSync(cache, path.join(servicesDir, 'cache'));
  const configAt = (base: number) => {
    const sets = ['log.level=warn', `services.dir=${servicesDir}`, `services.kafka.port=${base}`, `services.kafka.controllerPort=${base + 1}`, 'services.kafka.startTimeoutMs=300000'];
    return { config: loadConfig({ env: {}, sets }), sets };
  };
  let first: ReturnType<typeof configAt> | undefined;
  after(async () => {
    if (first) await stopServices(first.config, ['kafka']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test('status lists the running instance with its ports as not configured; start and restart refuse naming it; stop stops it', async () => {
    const a = await freePortRun(2);
    let b = await freePortRun(2);
    while (Math.abs(b - a) < 2) b = await freePortRun(2);
    first = configAt(a);
    const [started] = await startServices(first.config, ['kafka']);
    assert.equal(started?.up, true);
    const kafka = readState(servicesLayout(first.config.services).stateFile).kafka;
    assert.ok(kafka && isAlive(kafka));

    const moved = configAt(b);
    const status = (await servicesStatus(moved.config)).find((s) => s.name === 'kafka') as ServiceStatus;
    assert.equal(status.up, false, 'nothing runs on the configured ports');
    assert.equal(status.endpoint, `127.0.0.1:${b}`);
    assert.equal(status.pid, undefined, 'the other instance is not passed off as the configured one');
    assert.deepEqual(status.instances, [{ endpoint: `127.0.0.1:${a}`, ports: { port: a, controllerPort: a + 1 }, pid: kafka.pid, startedAt: kafka.startedAt, running: 'all', configured: false }]);
    const atA = (await servicesStatus(first.config)).find((s) => s.name === 'kafka');
    assert.equal(atA?.up, true);
    assert.equal(atA?.instances?.[0]?.configured, true);

    const refusal = (error: unknown): true => {
      assert.ok(error instanceof TallyError, String(error));
      assert.equal(error.code, 'SERVICE_CONFLICT', error.message);
      assert.ok(error.message.includes(`127.0.0.1:${a}`) && error.message.includes(`pid ${kafka.pid}`), error.message);
      assert.ok(error.message.includes(`services.kafka.port ${b}`), error.message);
      assert.ok(error.message.includes('tally services stop kafka'), error.message);
      return true;
    };
    await assert.rejects(startServices(moved.config, ['kafka']), refusal);
    await assert.rejects(startServices(moved.config), refusal, 'tally up and tally bench start every service: refused the same way');
    assert.ok(isAlive(kafka), 'the refusal left the running instance alone');

    const cli = await run(path.join(projectRoot, 'bin/tally'), [...moved.sets.flatMap((s) => ['--set', s]), 'services', 'status'], { env: { ...process.env, KAFKA_BROKERS: '' } }).catch((error: { stdout: string; code: number }) => error);
    assert.match(cli.stdout, new RegExp(`kafka +local, down, 127\\.0\\.0\\.1:${b}`));
    assert.match(cli.stdout, new RegExp(`this checkout's kafka runs at 127\\.0\\.0\\.1:${a} \\(port ${a}, controllerPort ${a + 1}\\), pid ${kafka.pid}: not the configured ports`));

    assert.deepEqual(await stopServices(moved.config, ['kafka']), ['kafka'], 'stop stops what this checkout runs, whatever its ports');
    assert.equal(isAlive(kafka), false);
    const [fresh] = await startServices(moved.config, ['kafka']);
    assert.equal(fresh?.up, true, 'then the configured one starts');
    assert.equal(fresh.instances?.[0]?.configured, true);
    await stopServices(moved.config, ['kafka']);
  });
});
