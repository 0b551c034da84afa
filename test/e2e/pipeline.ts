import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Admin } from '../../pipeline/bus/types.js';
import { eventually, testConfig, uniqueName } from '../support/world.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const cliEntry = path.resolve(here, '../../app/cli/main.js');

/** One isolated pipeline: its own topic prefix, index prefix, groups, registry and temp folder. */
export interface PipelineWorld {
  dir: string;
  configFile: string;
  topicPrefix: string;
  indexPrefix: string;
  config: Record<string, unknown>;
}

export async function pipelineWorld(name: string, extra: Record<string, unknown> = {}): Promise<PipelineWorld> {
  const dir = await mkdtemp(path.join(tmpdir(), `tally-${name}-`));
  const topicPrefix = `${uniqueName(name)}.`;
  const indexPrefix = `${uniqueName(`tally-${name}`)}-`;
  const base = testConfig();
  const config = {
    kafka: { brokers: base.kafka.brokers, topicPrefix, commitIntervalMs: 200 },
    elasticsearch: { url: base.elasticsearch.url, indexPrefix },
    log: { level: process.env.TALLY_TEST_LOG_LEVEL ?? 'warn', pretty: false },
    shutdown: { drainTimeoutMs: 20_000 },
    topics: { partitions: 2 },
    ...extra,
  };
  const configFile = path.join(dir, 'tally.yaml');
  await writeFile(configFile, stringify(config));
  return { dir, configFile, topicPrefix, indexPrefix, config };
}

/** Add sections to the world's configuration file (a later key replaces an earlier one). */
export async function extendConfig(world: PipelineWorld, extra: Record<string, unknown>): Promise<void> {
  Object.assign(world.config, extra);
  await writeFile(world.configFile, stringify(world.config));
}

/** A `tally <args>` process of the world; resolves once it printed `readyText` on stdout. */
export interface StageProcess {
  proc: ChildProcess;
  /** the stage's words, e.g. `transform` or `sink elasticsearch` */
  name: string;
  output: () => string;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** `work`, or its failure with the last lines each stage wrote: a post-mortem without TALLY_STAGE_LOG_DIR. */
export async function withStageOutputs<T>(stages: StageProcess[], work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const tails = stages.map((s) => `--- tally ${s.name} (pid ${s.proc.pid}, ${s.proc.exitCode === null && s.proc.signalCode === null ? 'running' : `exited ${s.proc.exitCode ?? s.proc.signalCode}`}):\n${s.output().split('\n').slice(-15).join('\n')}`);
    (error as Error).message += `\n${tails.join('\n')}`;
    throw error;
  }
}

// generous: a restarted transform connects, creates topics, registers its schemas and initialises its transactions; at load ~100 that took over 60 s
export async function startStage(world: PipelineWorld, args: string[], readyText: RegExp, timeoutMs = 180_000): Promise<StageProcess> {
  const proc = spawn(process.execPath, [cliEntry, '-c', world.configFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_BROKERS: '', ELASTICSEARCH_URL: '' } });
  let out = '';
  // TALLY_STAGE_LOG_DIR keeps every stage's whole output, one file per process, for a post-mortem
  const logFile = process.env.TALLY_STAGE_LOG_DIR ? path.join(process.env.TALLY_STAGE_LOG_DIR, `${path.basename(world.dir)}-${args.slice(0, args[0] === 'sink' ? 2 : 1).join('-')}-${proc.pid}.log`) : undefined;
  const keep = (chunk: Buffer): void => {
    out += chunk.toString();
    if (logFile) appendFileSync(logFile, chunk);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const early = exited.then((code) => {
    throw new Error(`tally ${args.join(' ')} exited with ${code} before it was ready: ${out.slice(-2000)}`);
  });
  early.catch(() => undefined);
  try {
    await Promise.race([eventually(`tally ${args.join(' ')} to be ready`, timeoutMs, () => (readyText.test(out) ? true : undefined)), early]);
  } catch (error) {
    // not in the caller's list of stages yet, so nothing else would stop it: it kept the test file alive after its failure
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    if (!(error as Error).message.includes('before it was ready')) (error as Error).message += `; its output: ${out.slice(-2000)}`;
    throw error;
  }
  return {
    proc,
    name: args.join(' '),
    output: () => out,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Wait until the group has consumed and committed everything of the topic. */
export async function caughtUp(admin: Admin, groupId: string, topic: string, timeoutMs: number): Promise<void> {
  await eventually(`group ${groupId} caught up on ${topic}`, timeoutMs, async () => {
    const offsets = await admin.groupOffsets(groupId, topic);
    return offsets.every((o) => o.lag === 0) && offsets.some((o) => Number(o.end) > 0) ? true : undefined;
  });
}

/** The sum of a topic's end offsets: its records, plus a commit marker per partition per transaction in a topic written with exactly-once (count records with readTopicToEnd). */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.groupOffsets('tally-test-size-nobody', topic);
  return offsets.reduce((sum, o) => sum + Number(o.end), 0);
}
