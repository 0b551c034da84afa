#!/usr/bin/env node
// The full fault suite (npm run test:faults): every test file under test/faults/ with
// TALLY_FAULT_TRIALS=20 (unless given), each fault on a Kafka and an Elasticsearch of its own,
// then test/faults/REPORT.md from the per-fault result files every suite wrote into
// TALLY_FAULT_RESULTS_DIR (default test/faults/results). The short version is part of npm test.
//   npm run test:faults                     20 trials per fault
//   TALLY_FAULT_TRIALS=5 npm run test:faults
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const say = (line) => process.stdout.write(`test:faults: ${line}\n`);

const install = spawnSync('bash', ['scripts/install.sh'], { stdio: 'inherit' });
if (install.status !== 0) {
  say(`install failed (exit ${install.status})`);
  process.exit(install.status ?? 1);
}

const resultsDir = path.resolve(process.env.TALLY_FAULT_RESULTS_DIR ?? 'test/faults/results');
rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });
const trials = process.env.TALLY_FAULT_TRIALS ?? '20';
const env = {
  ...process.env,
  KAFKAJS_NO_PARTITIONER_WARNING: '1',
  TALLY_FAULT_TRIALS: trials,
  TALLY_FAULT_RESULTS_DIR: resultsDir,
  // the 60 s Elasticsearch outages run in a world of their own, beside the rest
  TALLY_FAULT_WORLDS: process.env.TALLY_FAULT_WORLDS ?? 'es-stopped-60s|*',
};
const files = readdirSync('dist/test/faults').filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join('dist/test/faults', f));
say(`${files.length} suites, ${trials} trials per fault, results in ${path.relative(root, resultsDir)}`);
const started = Date.now();
const runner = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=14400000', '--test-reporter=spec', ...files], { env, stdio: 'inherit' });
const code = await new Promise((resolve) => runner.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));

const { writeReport } = await import(path.join(root, 'dist/test/faults/report.js'));
const report = path.join(root, 'test/faults/REPORT.md');
const results = existsSync(resultsDir)
  ? await writeReport(resultsDir, report, {
      command: `TALLY_FAULT_TRIALS=${trials} npm run test:faults`,
      when: `${new Date(started).toISOString().slice(0, 16).replace('T', ' ')} UTC, ${((Date.now() - started) / 60000).toFixed(0)} min`,
      trialsPerFault: Number(trials),
      machine: `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    })
  : [];
for (const r of results) say(`${r.fault}: ${r.trials} trials, lost ${r.lost}, doubled ${r.doubled}, valid in DLQ ${r.validInDlq}`);
say(`report: ${path.relative(root, report)} (${results.length} faults)`);
process.exit(code);
