import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { allVisible, checkDeadLetters, checkOutcome, rawComplete, replayFigures, totalLag, type Outcome } from './check.js';
import type { KafkaBackendName } from '../../pipeline/config/types.js';
import type { Fault } from './faults.js';
import { KnownInput, seededRandom } from './input.js';
import { FaultPipeline } from './pipeline.js';
import { startFaultServices, type FaultServices } from './services.js';

/** The file every fault suite writes per fault, `<resultsDir>/<fault>.json`; test/faults/report.ts reads them. */
export interface FaultResult {
  fault: string;
  description: string;
  trials: number;
  lost: number;
  doubled: number;
  validInDlq: number;
  recoverySeconds: number[];
  notes: string[];
}

export interface TrialRecord {
  trial: number;
  injectedAfterMs: number;
  recoverySeconds: number | null;
  note?: string;
  /** why the fault did not test what it claims in this trial (a trial that proves nothing) */
  vacuous?: string;
  /** the stages whose /readyz answered 503 between the fault and recovery, and those not 200 30 s after recovery */
  readiness: { notReadyDuring: string[]; notReadyAfter: string[] };
  outcome: Outcome;
}

export interface SuiteOptions {
  trials: number;
  resultsDir: string;
  /** non-exclusive faults of a world run this many at once, each in its own pipeline */
  parallel: number;
  recoveryTimeoutMs?: number;
  seed?: number;
  log?: (line: string) => void;
  /** negative controls the first world runs once each at the end; results under <resultsDir>/controls */
  controls?: Fault[];
}

export type FaultRun = FaultResult & { details: { trials: TrialRecord[]; invalidMissingFromDlq: number; deadLetters: number; unexpectedExits: string[]; stopExitCodes: Record<string, number | null> } };

async function topicSizes(pipeline: FaultPipeline, topics: string[]): Promise<number> {
  const admin = await pipeline.kafkaAdmin();
  let total = 0;
  for (const topic of topics) total += (await admin.groupOffsets('faults-nobody', pipeline.bus.topic(topic))).reduce((sum, o) => sum + Number(o.end), 0);
  return total;
}

/** Until the topics hold more than `before` (or 5 s passed): new input has reached the stage that reads them. */
async function grown(pipeline: FaultPipeline, topics: string[], before: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && (await topicSizes(pipeline, topics)) <= before) await sleep(20);
}

async function recover(pipeline: FaultPipeline, input: KnownInput, restoredAt: number, timeoutMs: number): Promise<number | null> {
  const deadline = restoredAt + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await rawComplete(pipeline, input)) && (await totalLag(pipeline)) === 0 && (await allVisible(pipeline, input))) return (Date.now() - restoredAt) / 1000;
    } catch {
      /* a service is still coming back */
    }
    await sleep(500);
  }
  return null;
}

/** TALLY_FAULT_BACKEND: the client backend of the faults that name none (default kafkajs). */
function defaultBackend(): KafkaBackendName {
  return process.env.TALLY_FAULT_BACKEND === 'rdkafka' ? 'rdkafka' : 'kafkajs';
}

/** Run one fault's trials in a fresh pipeline of the world, check each, and write its result file. */
export async function runFault(services: FaultServices, fault: Fault, options: SuiteOptions, seed: number): Promise<FaultRun> {
  const say = options.log ?? (() => undefined);
  const random = seededRandom(seed);
  const input = new KnownInput(seed);
  const pipeline = await FaultPipeline.create(fault.id.slice(0, 24), services, seededRandom(seed + 1), fault.backend ?? defaultBackend(), fault.exactlyOnce ?? true, fault.commitIntervalMs ?? 200);
  const trials: TrialRecord[] = [];
  const lost = new Set<string>();
  const doubled = new Set<string>();
  const notes: string[] = [];
  let dlq = { letters: 0, invalidFound: 0, invalidMissing: 0, valid: [] as string[] };
  const stopExitCodes: Record<string, number | null> = {};
  try {
    await pipeline.start();
    for (let t = 0; t < options.trials; t++) {
      const data = input.trial(t);
      // the fault lands 0-400 ms after one of the bursts, while the stages are busy with it
      const slice = 1 + Math.floor(random() * (data.accounting.length - 2));
      const delayMs = Math.round(random() * 400);
      const trialStart = Date.now();
      let reached: () => void = () => undefined;
      const burst = new Promise<void>((resolve) => (reached = resolve));
      const writing = pipeline.write(data, 800, (s) => s === slice && reached());
      await burst;
      if (fault.busyTopics) await grown(pipeline, fault.busyTopics, await topicSizes(pipeline, fault.busyTopics));
      await sleep(fault.busyTopics ? delayMs * 0.375 : delayMs);
      const injectedAfterMs = Date.now() - trialStart;
      const readiness = pipeline.watchReadiness();
      const { restoredAt, note, vacuous } = await fault.inject({ pipeline, random, trial: t });
      await writing;
      const recoverySeconds = await recover(pipeline, input, restoredAt, fault.recoveryTimeoutMs ?? options.recoveryTimeoutMs ?? 300_000);
      const notReadyDuring = await readiness.stop();
      const notReadyAfter = await pipeline.allReady(30_000);
      const outcome = await checkOutcome(pipeline, input);
      for (const id of [...outcome.esMissing, ...outcome.esWrong, ...outcome.apelMissing, ...outcome.apelStale]) lost.add(id.split(' ')[0] ?? id);
      for (const id of outcome.domainMissing) lost.add(id.split(' ×')[0] ?? id);
      for (const id of [...outcome.esDoubled, ...outcome.esExtra]) doubled.add(id);
      for (const id of outcome.domainDoubled) doubled.add(id.split(' ×')[0] ?? id);
      trials.push({ trial: t, injectedAfterMs, recoverySeconds, ...(note ? { note } : {}), ...(vacuous ? { vacuous } : {}), readiness: { notReadyDuring, notReadyAfter }, outcome });
      if (notReadyAfter.length) notes.push(`trial ${t + 1}: /readyz not 200 after recovery: ${notReadyAfter.join(', ')}`);
      if (vacuous) notes.push(`trial ${t + 1} is VACUOUS: ${vacuous}`);
      const bad = outcome.esMissing.length + outcome.esWrong.length + outcome.esDoubled.length + outcome.esExtra.length + outcome.apelMissing.length + outcome.apelStale.length + outcome.domainDoubled.length + outcome.domainMissing.length;
      say(`${fault.id} trial ${t + 1}/${options.trials}: fault at +${injectedAfterMs} ms, ${recoverySeconds === null ? 'NOT RECOVERED' : `recovered in ${recoverySeconds.toFixed(1)} s`}, ${bad === 0 ? 'ES, APEL and the domain topics (read_committed) exact' : `MISMATCH ${JSON.stringify(outcome).slice(0, 400)}`}, lag ${outcome.lag}; /readyz 503 during: ${notReadyDuring.join(', ') || 'none'}${notReadyAfter.length ? `, NOT READY AFTER: ${notReadyAfter.join(', ')}` : ', all 200 after'}${note ? `; ${note}` : ''}`);
      if (recoverySeconds === null) notes.push(`trial ${t + 1} did not recover within ${(fault.recoveryTimeoutMs ?? options.recoveryTimeoutMs ?? 300_000) / 1000} s (lag ${outcome.lag})`);
    }
    dlq = await checkDeadLetters(pipeline, input);
    notes.push(await replayFigures(pipeline, input));
  } catch (error) {
    notes.push(`ABORTED after ${trials.length} trials: ${(error as Error).stack ?? String(error)}`.slice(0, 1500));
    say(`${fault.id} ABORTED: ${(error as Error).message}`);
  } finally {
    for (const [stage, process] of pipeline.stages) stopExitCodes[stage] = await pipeline.kill(process, 'SIGTERM');
    await pipeline.stop();
  }
  const recoveries = trials.map((t) => t.recoverySeconds).filter((s): s is number => s !== null);
  if (dlq.invalidMissing > 0) notes.push(`${dlq.invalidMissing} of ${input.invalid.size} deliberately invalid lines missing from the DLQ`);
  if (dlq.valid.length > 0) notes.push(`valid records in the DLQ: ${dlq.valid.slice(0, 3).join(' | ')}`);
  for (const exit of pipeline.unexpectedExits) notes.push(`unexpected exit: ${exit.slice(0, 300)}`);
  const badExits = Object.entries(stopExitCodes).filter(([, code]) => code !== 0);
  if (badExits.length) notes.push(`stages not exiting 0 on the final SIGTERM: ${badExits.map(([s, c]) => `${s}=${c}`).join(', ')}`);
  notes.push(`${input.accounting.size} accounting documents and ${input.vms.size} VMs (${input.snapshotLines} snapshots) expected; ${dlq.invalidFound} of ${input.invalid.size} invalid lines dead-lettered (${dlq.letters} letters with replays)`);
  const trialNotes = trials.filter((t) => t.note).map((t) => `trial ${t.trial + 1}: ${t.note}`);
  if (trialNotes.length) notes.push(...trialNotes.slice(0, 3), ...(trialNotes.length > 3 ? [`(${trialNotes.length - 3} more trial notes in the JSON details)`] : []));
  const run: FaultRun = {
    fault: fault.id,
    description: fault.description,
    trials: trials.length,
    lost: lost.size,
    doubled: doubled.size,
    validInDlq: dlq.valid.length,
    recoverySeconds: recoveries,
    notes,
    details: { trials, invalidMissingFromDlq: dlq.invalidMissing, deadLetters: dlq.letters, unexpectedExits: pipeline.unexpectedExits, stopExitCodes },
  };
  await mkdir(options.resultsDir, { recursive: true });
  await writeFile(path.join(options.resultsDir, `${fault.id}.json`), `${JSON.stringify(run, null, 2)}\n`);
  return run;
}

/**
 * One world (its own Kafka and Elasticsearch) running the given faults: those that stop a shared
 * service one after another, alone; the others `parallel` at a time, each in its own pipeline.
 */
export async function runWorld(name: string, list: Fault[], options: SuiteOptions): Promise<{ runs: FaultRun[]; controls: FaultRun[] }> {
  const say = options.log ?? (() => undefined);
  const started = Date.now();
  const services = await startFaultServices(name, { kafkaBrokers: Math.max(1, ...list.map((f) => f.kafkaBrokers ?? 1)), esNodes: Math.max(1, ...list.map((f) => f.esNodes ?? 1)) });
  say(`world ${name}: Kafka ${services.brokers}, Elasticsearch ${services.esUrl} up in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const runs: FaultRun[] = [];
  const controls: FaultRun[] = [];
  const seedOf = (fault: Fault) => (options.seed ?? 20261201) + [...fault.id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  try {
    for (const fault of list.filter((f) => f.exclusive)) runs.push(await runFault(services, fault, options, seedOf(fault)));
    const queue = list.filter((f) => !f.exclusive);
    const lane = async () => {
      for (let fault = queue.shift(); fault; fault = queue.shift()) runs.push(await runFault(services, fault, options, seedOf(fault)));
    };
    const lanes = await Promise.allSettled(Array.from({ length: Math.max(1, options.parallel) }, lane));
    const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (failed) throw failed.reason;
    for (const control of options.controls ?? []) controls.push(await runFault(services, control, { ...options, trials: 1, resultsDir: path.join(options.resultsDir, 'controls') }, seedOf(control)));
  } finally {
    await services.close();
  }
  return { runs, controls };
}
