import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../pipeline/config/load.js';
import { TallyError } from '../pipeline/errors.js';
import { projectRoot } from '../pipeline/paths.js';
import { startServices } from '../pipeline/services/index.js';
import { benchCases } from './cases/index.js';
import { runningChildren } from './child.js';
import { Corpora } from './corpora.js';
import { collectEnvironment } from './environment.js';
import { installMissingPeers } from './peers/installed.js';
import { renderMarkdown } from './report.js';
import { emptyCase, type CaseResult } from './results.js';
import { fullSizes, quickSizes } from './sizes.js';
import { BenchWorld } from './world.js';

export interface BenchOptions {
  quick: boolean;
  /** case ids to run; all when absent */
  cases?: string[];
  /** one extra, profiled run of each Tally stage (default: on for the full run, off for --quick) */
  profile?: boolean;
  /** folder for report.json and REPORT.md (default bench/) */
  outDir?: string;
  configFile?: string;
  log?: (line: string) => void;
}

export interface BenchReport {
  tool: 'tally bench';
  mode: 'quick' | 'full';
  runId: string;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  environment: Awaited<ReturnType<typeof collectEnvironment>>;
  sizes: typeof fullSizes;
  cases: CaseResult[];
  runDir: string;
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const unknown = (options.cases ?? []).filter((id) => !benchCases.some((c) => c.id === id));
  if (unknown.length) throw new TallyError('USAGE', `unknown bench case(s) ${unknown.join(', ')}; known: ${benchCases.map((c) => c.id).join(', ')}`);
  const selected = benchCases.filter((c) => !options.cases?.length || options.cases.includes(c.id));
  const config = loadConfig({ ...(options.configFile ? { file: options.configFile } : {}), env: process.env, sets: ['log.level=warn'] });
  const started = new Date();
  log(`tally bench (${options.quick ? 'quick' : 'full'}): peers and services…`);
  installMissingPeers(log);
  const services = await startServices(config);
  for (const s of services) log(`  ${s.name} ${s.up ? 'up' : 'DOWN'} at ${s.endpoint}${s.reused ? ' (reused)' : ''}`);
  if (services.some((s) => !s.up)) throw new TallyError('SERVICE_START', 'Kafka or Elasticsearch is not up; see tally services status');

  const world = new BenchWorld(config, options.quick ? quickSizes : fullSizes, options.quick);
  const corpora = new Corpora(path.join(world.dir, 'corpus'));
  const environment = await collectEnvironment(world, services);
  log(`  run ${world.id}, folder ${path.relative(projectRoot, world.dir)}`);
  const results: CaseResult[] = [];
  // interrupted: stop the processes this run started (by pid), delete what it created, exit
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping ${runningChildren.size} process(es) of this run and deleting its topics and indices…`);
    void Promise.allSettled([...runningChildren].map((c) => c.stop(5000)))
      .then(() => world.cleanUp())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const benchCase of selected) {
      log(`case ${benchCase.id}: ${benchCase.title}`);
      const caseStart = performance.now();
      let result: CaseResult;
      try {
        result = await benchCase.run({ world, corpora, log, profile: options.profile ?? !options.quick });
      } catch (error) {
        result = emptyCase(benchCase.id, benchCase.title, '');
        result.status = 'failed';
        result.note = error instanceof Error ? error.message : String(error);
        log(`  case ${benchCase.id} FAILED: ${result.note}`);
      }
      result.seconds = (performance.now() - caseStart) / 1000;
      results.push(result);
      log(`  case ${benchCase.id}: ${result.status} in ${result.seconds.toFixed(0)} s`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    log('cleaning up topics, groups and indices of this run…');
    await world.cleanUp();
  }
  const finished = new Date();
  const report: BenchReport = {
    tool: 'tally bench',
    mode: options.quick ? 'quick' : 'full',
    runId: world.id,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    seconds: (finished.getTime() - started.getTime()) / 1000,
    environment,
    sizes: world.sizes,
    cases: results,
    runDir: path.relative(projectRoot, world.dir),
  };
  const outDir = options.outDir ?? path.join(projectRoot, 'bench');
  const json = `${JSON.stringify(report, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
  const markdown = renderMarkdown(report);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'report.json'), json);
  writeFileSync(path.join(outDir, 'REPORT.md'), markdown);
  // every run also keeps its own copy next to its logs and profiles
  writeFileSync(path.join(world.dir, 'report.json'), json);
  writeFileSync(path.join(world.dir, 'REPORT.md'), markdown);
  log(`wrote ${path.relative(projectRoot, path.join(outDir, 'report.json'))} and ${path.relative(projectRoot, path.join(outDir, 'REPORT.md'))} (${report.seconds.toFixed(0)} s)`);
  return report;
}
