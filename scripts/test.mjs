#!/usr/bin/env node
// The whole test suite on a fresh machine: install, provide real Kafka and Elasticsearch, run every
// test file with node's test runner, stop what was started, and print one summary line.
//   npm test                      everything
//   npm test -- test/pipeline/bus only files under these paths
// Infrastructure, in this order: KAFKA_BROKERS + ELASTICSEARCH_URL given → used as they are;
// a Docker engine answers (or TALLY_TEST_INFRA=docker) → testcontainers; otherwise the local services.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const say = (line) => process.stdout.write(`test: ${line}\n`);
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));

const install = spawnSync('bash', ['scripts/install.sh'], { stdio: 'inherit' });
if (install.status !== 0) {
  say(`install failed (exit ${install.status})`);
  process.exit(install.status ?? 1);
}

const cli = (args, options = {}) => spawnSync(process.execPath, ['dist/app/cli/main.js', ...args], { encoding: 'utf8', ...options });
const defaults = JSON.parse(readFileSync('schemas/json/config.schema.json', 'utf8')).properties.services.properties;
const env = { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' };
let stopInfra = async () => {};

if (process.env.KAFKA_BROKERS && process.env.ELASTICSEARCH_URL) {
  env.TALLY_TEST_INFRA = 'external';
  say(`using external services: Kafka ${process.env.KAFKA_BROKERS}, Elasticsearch ${process.env.ELASTICSEARCH_URL}`);
} else {
  const { dockerAnswers, startContainers } = await import(path.join(root, 'dist/test/support/containers.js'));
  const wantDocker = process.env.TALLY_TEST_INFRA === 'docker' || (process.env.TALLY_TEST_INFRA !== 'local' && (await dockerAnswers()));
  if (wantDocker) {
    say('a Docker engine answers: starting Kafka and Elasticsearch with testcontainers');
    const world = await startContainers({ kafka: defaults.kafka.properties.version.default, elasticsearch: defaults.elasticsearch.properties.version.default });
    Object.assign(env, { TALLY_TEST_INFRA: 'docker', KAFKA_BROKERS: world.kafkaBrokers, ELASTICSEARCH_URL: world.elasticsearchUrl });
    stopInfra = () => world.stop();
  } else {
    env.TALLY_TEST_INFRA = 'local';
    delete env.KAFKA_BROKERS;
    delete env.ELASTICSEARCH_URL;
    say('no Docker engine: starting the local services (tally services start)');
    const started = cli(['services', 'start', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    if (started.status !== 0) {
      say('the local services did not start');
      process.exit(1);
    }
    const statuses = JSON.parse(started.stdout).services;
    for (const s of statuses) say(`  ${s.name} ${s.up ? 'up' : 'DOWN'} at ${s.endpoint} (${s.version ?? '?'}, pid ${s.pid ?? '?'}${s.reused ? ', already running: left running afterwards' : ''})`);
    const ours = statuses.filter((s) => !s.reused).map((s) => s.name);
    stopInfra = async () => {
      if (ours.length === 0) return;
      const stopped = cli(['services', 'stop', ...ours, '--json'], { env });
      const pids = statuses.filter((s) => ours.includes(s.name)).map((s) => s.pid);
      // a stopped JVM takes a moment to exit: wait for it before saying what is left
      const deadline = Date.now() + 30_000;
      let left = pids.filter((pid) => existsSync(`/proc/${pid}`));
      while (left.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        left = left.filter((pid) => existsSync(`/proc/${pid}`));
      }
      say(`stopped ${JSON.parse(stopped.stdout || '{"stopped":[]}').stopped.join(', ') || 'nothing'}${left.length ? `; STILL RUNNING: ${left.join(', ')}` : '; no service process left'}`);
    };
  }
}

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => path.join(dir, f))
    .filter((f) => filters.length === 0 || filters.some((p) => f.startsWith(path.join('dist', p.replace(/\.ts$/, '.js'))) || f.includes(p.replace(/^test\//, '').replace(/\.ts$/, ''))))
    .sort();
}

const files = testFiles('dist/test');
say(`running ${files.length} test files`);
const tap = path.join(mkdtempSync(path.join(tmpdir(), 'tally-test-')), 'results.tap');
// a file's whole run is bounded too: 45 min, for the short fault suite's worlds on a busy machine (its own test says 1 h)
const runner = spawn(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-timeout=2700000', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { env, stdio: 'inherit' },
);
const code = await new Promise((resolve) => runner.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
await stopInfra().catch((error) => say(`stopping the services failed: ${error.message}`));

const summary = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(summary)?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(code === 0 && failed === 0 && passed > 0 ? 0 : code || 1);
