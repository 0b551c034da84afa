import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { KafkaBackendName } from '../pipeline/config/types.js';
import { projectRoot } from '../pipeline/paths.js';
import { startChild, type MeasuredChild } from './child.js';
import type { BenchWorld } from './world.js';

/**
 * The compiled build every stage process runs: the same code `bin/tally` starts, or another build
 * given as TALLY_BENCH_DIST (a copy of dist/ under the checkout, to measure a change against this one).
 */
export const distDir = process.env.TALLY_BENCH_DIST ? path.resolve(process.env.TALLY_BENCH_DIST) : path.join(projectRoot, 'dist');
export const cliEntry = path.join(distDir, 'app', 'cli', 'main.js');

/** What each stage prints on stdout once it is serving: the ready mark of start-up timing. */
export const readyText = {
  ship: /^tally ship: /m,
  beats: /^tally beats listening on /m,
  transform: /^tally transform running/m,
  sinkElasticsearch: /^tally sink elasticsearch: /m,
} as const;

export interface StageLaunch {
  label: string;
  configFile: string;
  args: string[];
  ready: RegExp;
  /** write a V8 CPU profile (.cpuprofile) into the run's profiles folder on exit */
  cpuProfile?: boolean;
  /** false: return at once (a source that starts work before it prints its ready line); readiness is still timed */
  awaitReady?: boolean;
}

/** the Kafka backends every case measures, in report order */
export const backends: readonly KafkaBackendName[] = ['kafkajs', 'rdkafka'];

/** the node flags bin/tally starts every Tally process with */
export const nodeOptions: string[] = readFileSync(path.join(projectRoot, 'bin', 'node-options'), 'utf8').split('\n').filter((line) => line.trim() !== '');

/** `node <bin/node-options> dist/app/cli/main.js -c <config> <args>` (what bin/tally runs) as a measured child; resolves once it printed its ready line. */
export async function startTallyStage(world: BenchWorld, launch: StageLaunch): Promise<MeasuredChild> {
  const profile = launch.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(world.dir, 'profiles')}`, `--cpu-prof-name=${launch.label}-${Date.now()}.cpuprofile`] : [];
  const child = startChild(launch.label, process.execPath, [...nodeOptions, ...profile, cliEntry, '-c', launch.configFile, ...launch.args], {
    logFile: world.logFile(launch.label),
    readyText: launch.ready,
    // the CLI's fatal-error line; the process may stay alive after it (open handles), so it is not waited out
    failText: /^tally: [A-Z_]+: /m,
    // the stage reads its endpoints from its configuration file, not from this process's environment
    env: { ...process.env, KAFKA_BROKERS: '', ELASTICSEARCH_URL: '', TALLY_CONFIG: '' },
    cwd: world.workDir(`cwd-${launch.label}`),
  });
  if (launch.awaitReady === false) {
    child.ready().catch(() => undefined);
    return child;
  }
  try {
    await child.ready();
  } catch (error) {
    await child.stop(2000);
    throw error;
  }
  return child;
}

/** A bench helper process (passthrough, raw _bulk client, APEL runner): node dist/bench/peers/<file>.js. */
export function benchScript(name: string): string {
  return path.join(distDir, 'bench', 'peers', `${name}.js`);
}
