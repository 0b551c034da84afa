import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { createBus } from '../../pipeline/bus/index.js';
import type { Admin, Bus } from '../../pipeline/bus/types.js';
import { loadConfig } from '../../pipeline/config/load.js';
import type { KafkaBackendName, TallyConfig } from '../../pipeline/config/types.js';
import { createEsClient } from '../../pipeline/elasticsearch/client.js';
import { freePort, testLog, uniqueName } from '../support/world.js';
import { startStage, type PipelineWorld, type StageProcess } from '../e2e/pipeline.js';
import { startEsProxy, type EsProxy } from './es-proxy.js';
import { killOnExit } from './leftovers.js';
import type { TrialInput } from './input.js';
import type { FaultServices } from './services.js';

const sigtermGraceMs = 60_000;

export type StageName = 'ship' | 'transform' | 'sink-elasticsearch' | 'sink-apel';
export const stageNames: StageName[] = ['ship', 'transform', 'sink-elasticsearch', 'sink-apel'];

const stageArgs: Record<StageName, { args: string[]; ready: RegExp }> = {
  ship: { args: ['ship'], ready: /tally ship:.*caso-json/s },
  transform: { args: ['transform'], ready: /tally transform running/ },
  'sink-elasticsearch': { args: ['sink', 'elasticsearch'], ready: /tally sink elasticsearch:/ },
  'sink-apel': { args: ['sink', 'apel'], ready: /tally sink apel:/ },
};

/** The Kafka topics each consumer group reads, by logical name. */
export const groupTopics = {
  transform: ['raw.accounting', 'raw.caso-json'],
  'sink-elasticsearch': ['accounting.usage', 'cloud.vm'],
  'sink-apel': ['cloud.vm'],
} as const;

/**
 * One long-running pipeline of a fault world: tally ship (accounting and cASO JSON files) →
 * transform → sink elasticsearch (through the fault proxy) and sink apel, each a bin/tally process
 * with its ops port, with its own topic prefix, index prefix, groups and folder.
 */
export class FaultPipeline {
  readonly stages = new Map<StageName, StageProcess>();
  readonly opsPorts = new Map<StageName, number>();
  readonly unexpectedExits: string[] = [];
  readonly groups: Record<keyof typeof groupTopics, string>;
  readonly bus: Bus;
  readonly es;
  readonly accountingFile: string;
  readonly casoFile: string;
  readonly apelDir: string;
  private admin?: Admin;
  private readonly expectedExit = new Set<StageProcess>();
  private inputGate: Promise<void> = Promise.resolve();

  private constructor(
    readonly world: PipelineWorld,
    readonly services: FaultServices,
    readonly proxy: EsProxy,
    readonly config: TallyConfig,
  ) {
    this.groups = { transform: `${world.topicPrefix}transform`, 'sink-elasticsearch': `${world.topicPrefix}sink-es`, 'sink-apel': `${world.topicPrefix}sink-apel` };
    this.bus = createBus(config.kafka, testLog);
    this.es = createEsClient(config.elasticsearch);
    this.accountingFile = path.join(world.dir, 'in', 'usage.json');
    this.casoFile = path.join(world.dir, 'in', 'caso.ndjson');
    this.apelDir = path.join(world.dir, 'apel-outgoing');
  }

  static async create(name: string, services: FaultServices, random: () => number, backend: KafkaBackendName = 'kafkajs', exactlyOnce = true, commitIntervalMs = 200): Promise<FaultPipeline> {
    const dir = await mkdtemp(path.join(tmpdir(), `faults-${name}-`));
    await mkdir(path.join(dir, 'in'), { recursive: true });
    const topicPrefix = `${uniqueName(name)}.`;
    const indexPrefix = `${uniqueName(`f-${name}`)}-`;
    const esUrls = services.esUrl.split(',');
    const proxy = await startEsProxy(esUrls[0] ?? services.esUrl, random);
    const state = path.join(dir, 'state');
    const config = {
      kafka: { brokers: services.brokers.split(','), topicPrefix, commitIntervalMs, sessionTimeoutMs: 10_000, backend },
      // a cluster is reached directly, every node listed: a proxy in front of one node would be the single point the fault is about
      elasticsearch: { url: esUrls.length > 1 ? services.esUrl : proxy.url, indexPrefix },
      log: { level: process.env.TALLY_TEST_LOG_LEVEL ?? 'warn', pretty: false },
      shutdown: { drainTimeoutMs: 20_000 },
      topics: { partitions: 4 },
      // a stage with work that has not moved for 5 s says 503: every trial records which stages did, and that all say 200 again after
      ops: { lagIntervalMs: 1000, stallTimeoutMs: 5000 },
      ship: {
        inputs: [
          { paths: [path.join(dir, 'in', '*.json')], kind: 'accounting', registryPath: path.join(state, 'registry-accounting.json'), keyBy: 'line' },
          { paths: [path.join(dir, 'in', '*.ndjson')], kind: 'caso-json', registryPath: path.join(state, 'registry-caso.json') },
        ],
      },
      transform: { groupId: `${topicPrefix}transform`, kinds: ['accounting', 'caso-json'], exactlyOnce },
      sinks: {
        elasticsearch: { groupId: `${topicPrefix}sink-es`, topics: [...groupTopics['sink-elasticsearch']] },
        apel: { path: path.join(dir, 'apel-outgoing'), groupId: `${topicPrefix}sink-apel`, topics: [...groupTopics['sink-apel']], flushIntervalMs: 1000 },
      },
    };
    const configFile = path.join(dir, 'tally.yaml');
    await writeFile(configFile, stringify(config));
    const world: PipelineWorld = { dir, configFile, topicPrefix, indexPrefix, config };
    const loaded = loadConfig({ file: configFile, env: {}, sets: [`elasticsearch.url=${services.esUrl}`] });
    return new FaultPipeline(world, services, proxy, loaded);
  }

  async kafkaAdmin(): Promise<Admin> {
    this.admin ??= await this.bus.admin();
    return this.admin;
  }

  /** Forget the admin client (after a broker restart its connections may be stale). */
  async resetAdmin(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.close().catch(() => undefined);
  }

  async start(): Promise<void> {
    for (const stage of stageNames) await this.startStage(stage);
  }

  async startStage(stage: StageName): Promise<StageProcess> {
    const port = this.opsPorts.get(stage) ?? (await freePort());
    this.opsPorts.set(stage, port);
    const { args, ready } = stageArgs[stage];
    const process = await startStage(this.world, [...args, '--ops-port', String(port)], ready, 120_000);
    this.watch(stage, process);
    this.stages.set(stage, process);
    return process;
  }

  /** A second `tally transform` in the same group, on its own ops port. */
  async startExtraTransform(): Promise<{ process: StageProcess; opsPort: number }> {
    const opsPort = await freePort();
    const process = await startStage(this.world, ['transform', '--ops-port', String(opsPort)], stageArgs.transform.ready, 120_000);
    this.watch('transform', process);
    return { process, opsPort };
  }

  /** SIGTERM, or SIGKILL: its exit code. A stage still there 60 s after SIGTERM is SIGKILLed and counts as an unexpected exit (a hung stage fails the suite instead of stalling it). */
  async kill(process: StageProcess, signal: NodeJS.Signals): Promise<number | null> {
    this.expectedExit.add(process);
    const exited = process.kill(signal);
    if (signal === 'SIGKILL') return exited;
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), sigtermGraceMs)));
    const first = await Promise.race([exited, hung]);
    clearTimeout(timer);
    if (first !== 'hung') return first;
    this.unexpectedExits.push(`${process.name} (pid ${process.proc.pid}) still running ${sigtermGraceMs / 1000} s after ${signal}, SIGKILLed: ${process.output().slice(-600)}`);
    return process.kill('SIGKILL');
  }

  async restart(stage: StageName, signal: NodeJS.Signals): Promise<void> {
    const running = this.stages.get(stage);
    if (running) await this.kill(running, signal);
    await this.startStage(stage);
  }

  private watch(stage: StageName, process: StageProcess): void {
    const forget = process.proc.pid === undefined ? () => false : killOnExit(process.proc.pid);
    process.proc.once('exit', (code, signal) => {
      forget();
      if (!this.expectedExit.has(process)) this.unexpectedExits.push(`${stage} exited by itself (${code ?? signal}): ${process.output().slice(-600)}`);
    });
  }

  /** Hold the input writer before its next slice until the returned function is called. */
  holdInput(): () => void {
    let release: () => void = () => undefined;
    this.inputGate = new Promise<void>((resolve) => (release = resolve));
    return release;
  }

  /** Append a trial's input slice by slice, `pauseMs` apart, while the pipeline runs; `appended(s)` after each. */
  async write(input: TrialInput, pauseMs: number, appended: (slice: number) => void = () => undefined): Promise<void> {
    for (let s = 0; s < input.accounting.length; s++) {
      await this.inputGate;
      const acc = input.accounting[s] ?? [];
      const caso = input.caso[s] ?? [];
      if (acc.length) await appendFile(this.accountingFile, `${acc.join('\n')}\n`);
      if (caso.length) await appendFile(this.casoFile, `${caso.join('\n')}\n`);
      appended(s);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  /** Sample every stage's /readyz each second until stopped: the stages that answered 503 meanwhile. */
  watchReadiness(): { stop(): Promise<StageName[]> } {
    const notReady = new Set<StageName>();
    let watching = true;
    const loop = (async () => {
      while (watching) {
        for (const stage of this.stages.keys()) if ((await this.readyz(stage)) === 503) notReady.add(stage);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    return {
      async stop() {
        watching = false;
        await loop;
        return [...notReady];
      },
    };
  }

  /** Until every stage answers /readyz 200 (or timeoutMs passed): the stages still not ready. */
  async allReady(timeoutMs: number): Promise<StageName[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const waiting: StageName[] = [];
      for (const stage of this.stages.keys()) if ((await this.readyz(stage)) !== 200) waiting.push(stage);
      if (waiting.length === 0 || Date.now() > deadline) return waiting;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async readyz(stage: StageName): Promise<number> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.opsPorts.get(stage)}/readyz`, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      return response.status;
    } catch {
      return 0;
    }
  }

  async stop(): Promise<void> {
    for (const process of this.stages.values()) await this.kill(process, 'SIGTERM');
    await this.resetAdmin();
    await this.es.close().catch(() => undefined);
    await this.proxy.close();
    if (!process.env.TALLY_FAULT_KEEP) await rm(this.world.dir, { recursive: true, force: true });
  }
}
