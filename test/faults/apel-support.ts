import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, chmod, chown, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { createBus } from '../../pipeline/bus/index.js';
import { readTopicToEnd } from '../../pipeline/bus/read-topic.js';
import type { Admin, Bus } from '../../pipeline/bus/types.js';
import { decodeOriginal, type DeadLetter } from '../../pipeline/dlq.js';
import { projectRoot } from '../../pipeline/paths.js';
import { dirq } from '../interop/apel/tools.js';
import { esClient, eventually, freePort, testConfig, testLog, uniqueName } from '../support/world.js';
import type { FaultResult } from './suite.js';

/**
 * The APEL and truncation fault trials (test/faults/apel-*.test.ts, truncation-*.test.ts): one
 * isolated pipeline of real `bin/tally` processes on the shared Kafka and Elasticsearch (its own
 * topic prefix, index prefix, groups and folders), fed through `tally ship` with cASO JSON cloud
 * records and NEANIAS accounting lines (and, when asked, through `tally apel-queue`), read out the
 * way the far ends do: ssmsend's loop (python3-dirq lock/get/remove) on the APEL queue, and
 * Elasticsearch searches. Each trial adds fresh records, so every trial's losses are its own.
 */

export const faultTrials = (): number => Math.max(1, Number.parseInt(process.env.TALLY_FAULT_TRIALS ?? '2', 10) || 2);
export const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const tallyBin = path.join(projectRoot, 'bin/tally');

export type { FaultResult };

/** Writes `$TALLY_FAULT_RESULTS_DIR/<fault>.json` when that is set. */
export async function writeFaultResult(result: FaultResult): Promise<void> {
  const dir = process.env.TALLY_FAULT_RESULTS_DIR;
  process.stdout.write(`# ${result.fault}: ${result.trials} trials, lost ${result.lost}, doubled ${result.doubled}, valid in DLQ ${result.validInDlq}, recovery s ${result.recoverySeconds.join(' ')}\n`);
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${result.fault}.json`), `${JSON.stringify(result, null, 2)}\n`);
}

export interface Stage {
  name: string;
  output(): string;
  /** SIGTERM or SIGKILL; resolves with the exit code (null when killed by a signal) */
  kill(signal: NodeJS.Signals): Promise<number | null>;
  running(): boolean;
  /** it exited without being told to */
  died(): boolean;
}

/** One VM of a trial: its snapshots' WallDuration in order, the last being the latest. */
export interface TrialRecords {
  tag: string;
  vms: Map<string, number[]>;
  /** accounting `resource` values, one line each */
  accounting: string[];
}

export interface PipelineOptions {
  name: string;
  /** where the APEL outgoing queue goes (a tmpfs mount for disk-full); default a temp folder */
  queueParent?: string;
  /** run `tally sink apel` as this user (root cannot be kept out by chmod) */
  apelSinkUser?: string;
  /** also read a cASO-style SSM queue with `tally apel-queue` */
  withApelQueue?: boolean;
}

const monthStart = 1764547200; // 2025-12-01T00:00:00Z
const vmsPerTrial = 12;

/** Field → value maps of the records of one APEL cloud message; undefined when the message is not whole. */
export function cloudMessageRecords(body: string): Map<string, string>[] | undefined {
  if (!body.startsWith('APEL-cloud-message: v0.4\n') || !body.endsWith('\n')) return undefined;
  const records = body
    .slice(body.indexOf('\n') + 1)
    .split(/^%%\n/m)
    .map((chunk) => new Map(chunk.split('\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)] as const)));
  return records.every((r) => r.has('VMUUID') && r.has('SiteName') && r.has('WallDuration')) ? records : undefined;
}

export class FaultPipeline {
  readonly stages = new Map<string, Stage>();
  /** VMUUID → WallDuration values in the order ssmsend would have sent them */
  readonly sent = new Map<string, number[]>();
  /** elements ssmsend could not have taken whole (must stay 0) */
  halfVisible = 0;
  elementsRead = 0;
  readonly trials: TrialRecords[] = [];
  private drainer: NodeJS.Timeout | undefined;
  private draining = true;
  private snapshot = 0;

  private constructor(
    readonly options: PipelineOptions,
    readonly dir: string,
    readonly configFile: string,
    readonly topicPrefix: string,
    readonly indexPrefix: string,
    readonly queue: string,
    readonly incoming: string,
    readonly files: { accounting: string; caso: string; registry: string },
    readonly groups: { transform: string; apel: string; es: string },
    readonly bus: Bus,
    readonly admin: Admin,
    readonly opsPort: number,
  ) {}

  static async start(options: PipelineOptions): Promise<FaultPipeline> {
    const dir = await mkdtemp(path.join(tmpdir(), `apel-fault-${options.name}-`));
    await chmod(dir, 0o755); // a sink run as another user reads the configuration
    const topicPrefix = `${uniqueName(`apel-${options.name}`)}.`;
    const indexPrefix = `${uniqueName(`apel-${options.name}`)}-`;
    const queueParent = options.queueParent ?? path.join(dir, 'spool');
    await mkdir(queueParent, { recursive: true });
    const queue = path.join(queueParent, 'outgoing');
    await mkdir(queue, { recursive: true });
    if (options.apelSinkUser) {
      const [uid, gid] = idsOf(options.apelSinkUser);
      await chown(queueParent, uid, gid);
      await chown(queue, uid, gid);
    }
    const incoming = path.join(dir, 'caso-outgoing');
    const files = { accounting: path.join(dir, 'logs', 'accounting.log'), caso: path.join(dir, 'logs', 'caso.ndjson'), registry: path.join(dir, 'registry', 'caso.json') };
    await mkdir(path.dirname(files.accounting), { recursive: true });
    await writeFile(files.accounting, '');
    await writeFile(files.caso, '');
    const groups = { transform: `${topicPrefix}transform`, apel: `${topicPrefix}apel`, es: `${topicPrefix}es` };
    const base = testConfig();
    const kinds = ['accounting', 'caso-json', ...(options.withApelQueue ? ['apel-message'] : [])];
    const config = {
      kafka: { brokers: base.kafka.brokers, topicPrefix, commitIntervalMs: 200 },
      elasticsearch: { url: base.elasticsearch.url, indexPrefix },
      log: { level: 'info', pretty: false },
      shutdown: { drainTimeoutMs: 20_000 },
      topics: { partitions: 2 },
      ops: { stallTimeoutMs: 1500, lagIntervalMs: 300 },
      ship: {
        inputs: [
          { paths: [files.accounting], kind: 'accounting', registryPath: path.join(dir, 'registry', 'accounting.json'), scanIntervalMs: 500, lingerMs: 20 },
          { paths: [files.caso], kind: 'caso-json', registryPath: files.registry, scanIntervalMs: 500, lingerMs: 20 },
        ],
      },
      ...(options.withApelQueue ? { apelQueue: { path: incoming, pollIntervalMs: 100, createQueue: true } } : {}),
      transform: { groupId: groups.transform, kinds },
      sinks: { apel: { path: queue, groupId: groups.apel, flushIntervalMs: 400 }, elasticsearch: { groupId: groups.es } },
    };
    const configFile = path.join(dir, 'tally.yaml');
    await writeFile(configFile, stringify(config));
    await chmod(configFile, 0o644);
    const bus = createBus(testConfig([`kafka.topicPrefix=${topicPrefix}`]).kafka, testLog);
    const admin = await bus.admin();
    const pipeline = new FaultPipeline(options, dir, configFile, topicPrefix, indexPrefix, queue, incoming, files, groups, bus, admin, await freePort());
    try {
      await pipeline.startStage('transform', ['transform'], /tally transform running/);
      await pipeline.startStage('sink-elasticsearch', ['sink', 'elasticsearch'], /tally sink elasticsearch:/);
      await pipeline.startSinkApel();
      await pipeline.startStage('ship', ['ship'], /tally ship: .*caso/);
      if (options.withApelQueue) await pipeline.startStage('apel-queue', ['apel-queue'], /tally apel-queue reading/);
    } catch (error) {
      await pipeline.stop();
      throw error;
    }
    pipeline.drainer = setInterval(() => pipeline.drainOnce(), 300);
    return pipeline;
  }

  startSinkApel(): Promise<Stage> {
    return this.startStage('sink-apel', ['--ops-port', String(this.opsPort), 'sink', 'apel'], /tally sink apel:/, this.options.apelSinkUser);
  }

  /** A `bin/tally` process of this pipeline, resolved once it printed `ready` (replacing an earlier one of that name). */
  async startStage(name: string, args: string[], ready: RegExp, user?: string): Promise<Stage> {
    const command = user ? 'setpriv' : tallyBin;
    const argv = [...(user ? ['--reuid', user, '--regid', groupOf(user), '--clear-groups', tallyBin] : []), '-c', this.configFile, ...args];
    const proc = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_BROKERS: '', ELASTICSEARCH_URL: '', KAFKAJS_NO_PARTITIONER_WARNING: '1' } });
    let out = '';
    const keep = (chunk: Buffer): void => {
      out += chunk.toString();
      if (out.length > 4_000_000) out = out.slice(-2_000_000);
    };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    let killed = false;
    const stage: Stage = {
      name,
      output: () => out,
      running: () => proc.exitCode === null && proc.signalCode === null,
      died: () => !killed && (proc.exitCode !== null || proc.signalCode !== null),
      async kill(signal) {
        killed = true;
        if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
        return exited;
      },
    };
    this.stages.set(name, stage);
    const early = exited.then((code) => {
      throw new Error(`tally ${args.join(' ')} exited with ${code} before it was ready: ${out.slice(-3000)}`);
    });
    early.catch(() => undefined);
    await Promise.race([eventually(`tally ${args.join(' ')} ready`, 180_000, () => (ready.test(out) ? true : undefined)), early]);
    return stage;
  }

  stage(name: string): Stage {
    const stage = this.stages.get(name);
    if (!stage) throw new Error(`no stage ${name}`);
    return stage;
  }

  /** Stop (true) or go on (false) reading the APEL queue as ssmsend would. */
  pauseDrainer(paused: boolean): void {
    this.draining = !paused;
  }

  /** One ssmsend run: lock, get, remove every element; every body must be a whole message. */
  drainOnce(queue = this.queue): void {
    if (!this.draining && queue === this.queue) return;
    let elements;
    try {
      elements = dirq.drain(queue);
    } catch {
      return; // the queue directory is away (a fault): the next run takes it
    }
    for (const element of elements) {
      this.elementsRead += 1;
      const records = element.ascii ? cloudMessageRecords(element.body.toString('latin1')) : undefined;
      if (!records) {
        this.halfVisible += 1;
        continue;
      }
      for (const r of records) {
        const list = this.sent.get(r.get('VMUUID') ?? '') ?? [];
        list.push(Number(r.get('WallDuration')));
        this.sent.set(r.get('VMUUID') ?? '', list);
      }
    }
  }

  /** The records of a new trial: every VM in two snapshots (the second later and larger) and accounting lines. */
  newTrial(): TrialRecords {
    const tag = `${this.trials.length}-${Math.random().toString(36).slice(2, 8)}`;
    const vms = new Map<string, number[]>();
    for (let i = 0; i < vmsPerTrial; i += 1) vms.set(vmUuid(tag, i), []);
    const trial: TrialRecords = { tag, vms, accounting: [] };
    this.trials.push(trial);
    return trial;
  }

  /** One snapshot of every VM of the trial through `tally ship` (caso-json), plus as many accounting lines. */
  async shipSnapshot(trial: TrialRecords): Promise<void> {
    this.snapshot += 1;
    const cloud: string[] = [];
    const accounting: string[] = [];
    for (const [i, [uuid, walls]] of [...trial.vms].entries()) {
      const wall = 3600 * (walls.length + 1);
      walls.push(wall);
      cloud.push(JSON.stringify(casoVm(uuid, wall)));
      const resource = `job/${trial.tag}-${this.snapshot}-${i}`;
      trial.accounting.push(resource);
      accounting.push(JSON.stringify({ timestamp: new Date((monthStart + wall) * 1000).toISOString(), serviceid: 'tally-fault', level: 'accounting', userid: 'fault-user', resource, action: 'run', value: wall, measure: 'time', type: '+' }));
    }
    await appendFile(this.files.caso, `${cloud.join('\n')}\n`);
    await appendFile(this.files.accounting, `${accounting.join('\n')}\n`);
  }

  /** cASO's SSM messenger's cloud message for one snapshot of every VM of the trial, as dirq adds it (no fsync); returns its element name. */
  queueSnapshot(trial: TrialRecords, options: { record?: boolean; cut?: (body: Buffer) => Buffer } = {}): { name: string; body: Buffer } {
    const records: string[] = [];
    for (const [uuid, walls] of trial.vms) {
      const wall = 3600 * (walls.length + 1);
      if (options.record !== false) walls.push(wall);
      const fields = Object.entries(casoVm(uuid, wall)).sort(([a], [b]) => (a < b ? -1 : 1));
      records.push(fields.map(([k, v]) => `${k}: ${v}`).join('\n'));
    }
    const whole = Buffer.from(`APEL-cloud-message: v0.4\n${records.join('\n%%\n')}\n`);
    const body = options.cut ? options.cut(whole) : whole;
    const [name] = dirq.add(this.incoming, [body]);
    return { name: name ?? '', body };
  }

  /** The sink's /readyz status code (0 when it does not answer). */
  async readyz(): Promise<number> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.opsPort}/readyz`, { signal: AbortSignal.timeout(3000) });
      await response.arrayBuffer();
      return response.status;
    } catch {
      return 0;
    }
  }

  async lagZero(): Promise<boolean> {
    const checks: [string, string][] = [
      ...['raw.accounting', 'raw.caso-json', ...(this.options.withApelQueue ? ['raw.apel-message'] : [])].map((t) => [this.groups.transform, t] as [string, string]),
      [this.groups.apel, 'cloud.vm'],
      [this.groups.es, 'accounting.usage'],
      [this.groups.es, 'cloud.vm'],
    ];
    for (const [group, topic] of checks) {
      const offsets = await this.admin.groupOffsets(group, this.bus.topic(topic));
      if (!offsets.every((o) => o.lag === 0)) return false;
    }
    return true;
  }

  /** Every VM of the given trials sent with its latest snapshot. */
  cloudComplete(trials: TrialRecords[]): boolean {
    return trials.every((t) => [...t.vms].every(([uuid, walls]) => walls.length === 0 || (this.sent.get(uuid) ?? []).includes(walls.at(-1) ?? -1)));
  }

  async accountingCounts(): Promise<Map<string, number>> {
    const client = esClient();
    try {
      const index = `${this.indexPrefix}*accounting*`;
      await client.indices.refresh({ index, allow_no_indices: true, ignore_unavailable: true });
      const found = await client.search({ index, size: 10_000, _source: ['resource'], query: { match_all: {} }, allow_no_indices: true, ignore_unavailable: true });
      const counts = new Map<string, number>();
      for (const hit of found.hits.hits) {
        const resource = (hit._source as { resource?: string } | undefined)?.resource ?? '';
        counts.set(resource, (counts.get(resource) ?? 0) + 1);
      }
      return counts;
    } finally {
      await client.close();
    }
  }

  /**
   * Waits until the pipeline has caught up: all groups at lag 0, every cloud record of the trials so
   * far sent with its latest snapshot, every accounting line in Elasticsearch. Resolves with the
   * seconds since `since`, or undefined when `timeoutMs` passed first.
   */
  async recovered(since: number, timeoutMs = 90_000): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const stage of this.stages.values()) if (stage.died()) throw new Error(`tally ${stage.name} exited by itself: ${stage.output().slice(-3000)}`);
      this.drainOnce();
      if (this.cloudComplete(this.trials) && (await this.lagZero().catch(() => false))) {
        const counts = await this.accountingCounts().catch(() => new Map<string, number>());
        if (this.trials.every((t) => t.accounting.every((r) => counts.has(r)))) {
          const seconds = Math.round((Date.now() - since) / 100) / 10;
          process.stdout.write(`# ${this.options.name} trial ${this.trials.length - 1}: caught up ${seconds} s after the fault\n`);
          return seconds;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return undefined;
  }

  /** lost: cloud records whose latest snapshot was never sent plus accounting lines not in ES; doubled: accounting lines in ES more than once. */
  async tally(): Promise<{ lost: number; doubled: number; lostCloud: number; lostAccounting: number; outOfOrder: number }> {
    this.drainOnce();
    const counts = await this.accountingCounts();
    let lostCloud = 0;
    let outOfOrder = 0;
    for (const trial of this.trials) {
      for (const [uuid, walls] of trial.vms) {
        if (walls.length === 0) continue;
        const sent = this.sent.get(uuid) ?? [];
        if (!sent.includes(walls.at(-1) ?? -1)) lostCloud += 1;
        else if (sent.at(-1) !== walls.at(-1)) outOfOrder += 1;
      }
    }
    let lostAccounting = 0;
    let doubled = 0;
    for (const trial of this.trials) {
      for (const resource of trial.accounting) {
        const n = counts.get(resource) ?? 0;
        if (n === 0) lostAccounting += 1;
        if (n > 1) doubled += n - 1;
      }
    }
    return { lost: lostCloud + lostAccounting, doubled, lostCloud, lostAccounting, outOfOrder };
  }

  /** Dead letters on the pipeline's DLQ topics; `invalid` says which originals were meant to be refused. */
  async deadLetters(kinds: string[]): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    for (const kind of kinds) {
      const topic = this.bus.topic(`dlq.${kind}`);
      const size = (await this.admin.groupOffsets('apel-fault-nobody', topic).catch(() => [])).reduce((sum, o) => sum + Number(o.end), 0);
      if (size === 0) continue;
      await readTopicToEnd(this.bus, topic, (message) => {
        if (message.value) letters.push(JSON.parse(message.value.toString('utf8')) as DeadLetter);
      });
    }
    return letters;
  }

  originalOf(letter: DeadLetter): Buffer {
    return decodeOriginal(letter.original);
  }

  /** Moves the queue away (it disappears at once for the sink) and reads what was in it, as ssmsend had; then deletes it. */
  async removeQueue(): Promise<void> {
    const away = `${this.queue}.removed-${Date.now()}`;
    await rename(this.queue, away);
    this.drainOnce(away);
    await rm(away, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    if (this.drainer) clearInterval(this.drainer);
    for (const stage of this.stages.values()) await stage.kill('SIGKILL');
    await this.admin.close().catch(() => undefined);
  }
}

function vmUuid(tag: string, i: number): string {
  const hex = createHash('sha256').update(`${tag}:${i}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A running VM as cASO's JSON record: its cumulative wall time is the snapshot's measure. */
function casoVm(uuid: string, wall: number): Record<string, string | number> {
  return { SiteName: 'TALLY-FAULT', CloudType: 'caso/5.2.2 (OpenStack)', CloudComputeService: 'TALLY-FAULT-OpenStack', VMUUID: uuid, MachineName: `vm-${uuid.slice(0, 8)}`, LocalUserId: 'u1', LocalGroupId: 'p1', FQAN: 'vo.example.org', Status: 'started', CpuCount: 2, Memory: 2048, Disk: 20, StartTime: monthStart, EndTime: 0, WallDuration: wall, CpuDuration: wall * 2 };
}

function idsOf(user: string): [number, number] {
  const line = spawnText('id', ['-u', user]).trim();
  const group = spawnText('id', ['-g', user]).trim();
  return [Number(line), Number(group)];
}

function groupOf(user: string): string {
  return spawnText('id', ['-gn', user]).trim();
}

function spawnText(command: string, args: string[]): string {
  const run = spawnSync(command, args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout;
}
