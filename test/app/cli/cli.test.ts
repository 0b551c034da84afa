import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../../pipeline/paths.js';
import { infraMode, testConfig } from '../../support/world.js';

const execFileP = promisify(execFile);
const tally = path.join(projectRoot, 'bin/tally');

async function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(tally, args, { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** run, killed after timeoutMs (then code is null): a process that lingers fails the test instead of hanging it */
async function runFor(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(tally, args, { timeout: timeoutMs, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number | string; killed?: boolean; stdout: string; stderr: string };
    return { code: e.killed ? null : Number(e.code), stdout: e.stdout, stderr: e.stderr };
  }
}

const commands = ['up', 'services', 'ship', 'beats', 'http', 'apel-queue', 'transform', 'sink', 'setup', 'convert', 'report', 'dlq', 'bench'];

test('every command has --help', async () => {
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  for (const name of commands) {
    assert.match(top.stdout, new RegExp(`^  ${name}\\b`, 'm'), `tally --help lists ${name}`);
    const help = await run([name, '--help']);
    assert.equal(help.code, 0, `tally ${name} --help exits 0`);
    assert.match(help.stdout, new RegExp(`Usage: tally ${name}`), `tally ${name} --help prints usage`);
  }
  for (const sub of ['start', 'stop', 'status', 'restart', 'fetch']) {
    const help = await run(['services', sub, '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, new RegExp(`Usage: tally services ${sub}`));
  }
});

test('a stage that fails after opening connections exits with its error instead of lingering', async () => {
  // http: the producer is connected when the listen port turns out to be taken
  const { createServer } = await import('node:net');
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  try {
    const result = await runFor(['--log-level', 'warn', 'http', '--port', String(port)], 90_000);
    assert.equal(result.code, 1, `exit code (${result.stderr.slice(-300)})`);
    assert.match(result.stderr, /LISTEN_FAILED/);
    assert.match(result.stderr, /http: cannot listen on [\d.]+:\d+: the port is taken by another process: stop it or choose another port \(EADDRINUSE\)/);
  } finally {
    busy.close();
  }
});

test('an unknown command is a usage error', async () => {
  const result = await run(['frobnicate']);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /unknown command 'frobnicate'/);
});

test('a usage error names what is wrong and what is allowed, and exits 2', async () => {
  const result = await run(['dlq', 'list', 'no-such-kind']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /USAGE: unknown kind "no-such-kind"; the kinds are accounting, /);
});

test('a bad configuration file is named, with the key and the rule, and nothing starts', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'tally-cli-')), 'bad.yaml');
  writeFileSync(file, 'kafka:\n  backend: turbo\nservices:\n  elasticsearch:\n    heap: 2 gigs\n');
  const result = await run(['--config', file, 'services', 'status']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`CONFIG_INVALID: configuration from ${file.replaceAll('/', '\\/')} is invalid`));
  assert.match(result.stderr, /kafka\.backend: must be one of "kafkajs", "rdkafka" \(rule: enum\)/);
  assert.match(result.stderr, /services\.elasticsearch\.heap: .*\(rule: pattern\)/);
});

test('flags override environment: --backend and --set are validated too', async () => {
  const result = await run(['--set', 'kafka.maxInFlight=-5', 'services', 'status']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /kafka\.maxInFlight: must be >= 1 \(rule: minimum\)/);
});

test('services status --json reports both services up with their endpoints', async (t) => {
  if (infraMode !== 'local') {
    t.skip(`the local services are not in use (infrastructure is ${infraMode})`);
    return;
  }
  const result = await run(['services', 'status', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const { services } = JSON.parse(result.stdout) as { services: { name: string; up: boolean; endpoint: string; pid?: number; version?: string; modules?: string[] }[] };
  const kafka = services.find((s) => s.name === 'kafka');
  const es = services.find((s) => s.name === 'elasticsearch');
  assert.equal(kafka?.up, true);
  assert.equal(kafka?.endpoint, testConfig().kafka.brokers.join(','));
  assert.ok(kafka?.pid);
  assert.equal(es?.up, true);
  assert.equal(es?.endpoint, testConfig().elasticsearch.url);
  assert.match(es?.version ?? '', /^8\.19\./);
  assert.ok(es?.modules?.includes('transport-netty4'));
});
