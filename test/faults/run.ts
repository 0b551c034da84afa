import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clusterFaultList, controls, faultById, faults, type Fault } from './faults.js';
import { runWorld, type FaultRun, type SuiteOptions } from './suite.js';

/**
 * The fault plan from the environment: TALLY_FAULT_TRIALS trials per fault (default 2),
 * TALLY_FAULT_PARALLEL non-exclusive faults at once per world (default 3), TALLY_FAULT_ONLY a
 * comma list of fault ids, TALLY_FAULT_WORLDS worlds run side by side as `|`-separated comma lists
 * of fault ids (`*` = every fault not named elsewhere; default one world with every fault), and
 * TALLY_FAULT_RESULTS_DIR where the per-fault JSON files go; TALLY_FAULT_CONTROL=0 skips the
 * negative controls (a comma list of control ids runs those alone); TALLY_FAULT_CLUSTER=0 leaves out the faults of a three-broker Kafka cluster and
 * of a two-node Elasticsearch cluster (which run in worlds of their own).
 */
export async function planFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<{ worlds: Fault[][]; options: SuiteOptions }> {
  const only = env.TALLY_FAULT_ONLY ? env.TALLY_FAULT_ONLY.split(',').map((id) => faultById(id.trim())) : [...faults, ...(env.TALLY_FAULT_CLUSTER === '0' ? [] : clusterFaultList)];
  const spec = (env.TALLY_FAULT_WORLDS ?? '*').split('|').map((w) => w.split(',').map((id) => id.trim()).filter(Boolean));
  const named = new Set(spec.flat().filter((id) => id !== '*'));
  // a world's Kafka and Elasticsearch are one node each or clusters: the faults of a cluster get worlds
  // of their own, one per client backend for a Kafka cluster (side by side: most of a trial is waiting)
  const shape = (f: Fault): string => `${f.kafkaBrokers ?? 1}/${f.esNodes ?? 1}/${(f.kafkaBrokers ?? 1) > 1 ? (f.backend ?? 'kafkajs') : ''}`;
  const worlds = spec
    .map((ids) => only.filter((f) => ids.includes(f.id) || (ids.includes('*') && !named.has(f.id))))
    .flatMap((w) => [...new Set(w.map(shape))].map((s) => w.filter((f) => shape(f) === s)))
    .filter((w) => w.length > 0);
  const resultsDir = env.TALLY_FAULT_RESULTS_DIR ?? (await mkdtemp(path.join(tmpdir(), 'faults-results-')));
  return {
    worlds,
    options: {
      trials: Number(env.TALLY_FAULT_TRIALS ?? 2),
      parallel: Number(env.TALLY_FAULT_PARALLEL ?? 3),
      resultsDir,
      ...(env.TALLY_FAULT_SEED ? { seed: Number(env.TALLY_FAULT_SEED) } : {}),
      controls: env.TALLY_FAULT_CONTROL === '0' ? [] : env.TALLY_FAULT_CONTROL ? env.TALLY_FAULT_CONTROL.split(',').map((id) => faultById(id.trim())) : controls,
      log: (line) => process.stdout.write(`# faults: ${line}\n`),
    },
  };
}

export async function runPlan(worlds: Fault[][], options: SuiteOptions): Promise<{ runs: FaultRun[]; controls: FaultRun[] }> {
  const outcomes = await Promise.all(worlds.map((list, i) => runWorld(`w${i + 1}`, list, i === 0 ? options : { ...options, controls: [] })));
  return { runs: outcomes.flatMap((o) => o.runs), controls: outcomes.flatMap((o) => o.controls) };
}
