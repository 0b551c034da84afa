import { TallyError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { collectProcessMetrics, countsBridge, metrics, metricsRegistry, type StageCounts } from './metrics.js';
import { startOpsServer, type OpsServer, type Readiness } from './ops-server.js';
import { watchEventLoop } from './blocked-loop.js';
import { exitAfterDrain, exitCodes } from './shutdown.js';
import { StallDetector, consumerProgress, sourceProgress, type ConsumerProgressOptions, type ProbeFailure, type ProgressProbe, type ProgressReport, type ProgressSample } from './progress.js';

export type { KindCounts, StageCounts } from './metrics.js';
export type { ProgressProbe, ProgressSample } from './progress.js';
export type { Readiness } from './ops-server.js';

/** The `ops` configuration section. */
export interface OpsOptions {
  host: string;
  /** 0: no ops endpoints */
  port: number;
  /** pending work that has not moved for this long makes /readyz answer 503 */
  stallTimeoutMs: number;
  /** how often consumer lag (and every other probe) is read */
  lagIntervalMs: number;
  /** pending work that has not moved for this long ends the process with exit code 75, for its supervisor to restart it; 0: never */
  watchdogMs: number;
  /** an event loop that has not turned for this long ends the process with SIGKILL (EVENT_LOOP_BLOCKED); 0: never */
  blockedLoopMs: number;
}

export const defaultOpsOptions: OpsOptions = { host: '127.0.0.1', port: 0, stallTimeoutMs: 300_000, lagIntervalMs: 10_000, watchdogMs: 600_000, blockedLoopMs: 60_000 };

export interface StartOpsOptions {
  ops?: Partial<OpsOptions>;
  log: Logger;
  /** the command: ship, beats, http, apel-queue, transform, sink-elasticsearch, sink-apel */
  stage: string;
  /** the clock the stall rule reads (tests) */
  now?: () => number;
  /** what the watchdog does (tests); by default the process drains and exits with code 75 */
  onWatchdog?: (error: TallyError) => void;
}

/** What a running stage shows; give whichever apply. */
export interface StageView {
  /** a Kafka-consuming stage: its group's lag and committed offsets are watched */
  consumer?: ConsumerProgressOptions;
  /** a source: its pending work and completed position, read from its stats */
  source?: () => Omit<ProgressSample, 'key'>;
  probes?: ProgressProbe[];
  /** the stage's running totals, turned into tally_events_* counters at each scrape */
  counts?: () => StageCounts;
}

export interface Ops {
  /** where the endpoints are, when ops.port is set */
  readonly url: string | undefined;
  /** the stage runs: /readyz now follows its progress */
  started(view?: StageView): void;
  /** shutting down: /readyz answers 503 "stopping" while the stage drains */
  draining(): void;
  readiness(): Readiness;
  /** sample every probe afresh, after any poll in flight (tests; the interval does it otherwise) */
  poll(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The one call a long-running command makes: serve /metrics, /healthz and /readyz on ops.port (off
 * when 0) and watch the stage's progress. Start it early (so /healthz answers while the stage waits
 * for Elasticsearch or Kafka), call started() once the stage runs, draining() on SIGTERM, close() last.
 */
export async function startOps(options: StartOpsOptions): Promise<Ops> {
  const settings: OpsOptions = { ...defaultOpsOptions, ...options.ops };
  if (!(settings.stallTimeoutMs > 0) || !(settings.lagIntervalMs > 0)) throw new TallyError('CONFIG_INVALID', `ops.stallTimeoutMs and ops.lagIntervalMs must be positive (got ${settings.stallTimeoutMs} and ${settings.lagIntervalMs})`);
  if (!(settings.watchdogMs >= 0)) throw new TallyError('CONFIG_INVALID', `ops.watchdogMs must be 0 (off) or positive (got ${settings.watchdogMs})`);
  if (!(settings.blockedLoopMs >= 0)) throw new TallyError('CONFIG_INVALID', `ops.blockedLoopMs must be 0 (off) or positive (got ${settings.blockedLoopMs})`);
  const { log, stage } = options;
  const now = options.now ?? Date.now;
  const startedAt = now();
  const detector = new StallDetector([], settings.stallTimeoutMs, now);
  const bridges: (() => void)[] = [];
  let state: 'starting' | 'running' | 'stopping' = 'starting';
  let timer: NodeJS.Timeout | undefined;
  let stalledBefore = false;
  let closing: Promise<void> | undefined;

  const readiness = (): Readiness => {
    const base = { stage, stallTimeoutMs: settings.stallTimeoutMs };
    if (state !== 'running') {
      metrics.ready.set({ stage }, 0);
      return { ready: false, body: { status: state, ...base, reasons: [state === 'starting' ? 'the stage has not started yet' : 'the stage is shutting down'] } };
    }
    const report = detector.report();
    metrics.ready.set({ stage }, report.stalled ? 0 : 1);
    const detail = { probes: report.probes, ...(report.errors.length ? { probeErrors: report.errors } : {}) };
    if (!report.stalled) return { ready: true, body: { status: 'ready', ...base, ...detail } };
    return { ready: false, body: { status: 'stalled', ...base, reasons: stallReasons(report), ...detail } };
  };

  const updateGauges = (): void => {
    const worst = new Map<string, number>();
    for (const p of detector.report().probes) worst.set(p.probe, Math.max(worst.get(p.probe) ?? 0, p.stalledForMs));
    for (const [probe, ms] of worst) metrics.stalledSeconds.set({ stage, probe }, ms / 1000);
  };

  const afterPoll = (failures: ProbeFailure[]): void => {
    for (const failure of failures) {
      metrics.probeErrors.inc({ stage, probe: failure.probe });
      if (failure.first) log.warn({ err: failure.error, probe: failure.probe }, `progress probe failed (its last known state still counts): ${messageOf(failure.error)}`);
    }
    if (state !== 'running') return;
    const report = detector.report();
    if (report.stalled && !stalledBefore) log.error({ stalled: report.probes.filter((p) => p.stalled) }, `no progress with work pending: ${stallReasons(report).join('; ')}; /readyz answers 503 so an orchestrator can restart the stage`);
    if (!report.stalled && stalledBefore) log.info('progress again: /readyz answers 200');
    stalledBefore = report.stalled;
    if (settings.watchdogMs > 0 && !watchdogFired) {
      const stuck = report.probes.filter((p) => p.stalledForMs >= settings.watchdogMs);
      if (stuck.length) {
        watchdogFired = true;
        const error = new TallyError('STAGE_STALLED', `tally ${stage} made no progress for ${Math.round(settings.watchdogMs / 1000)} s with work pending (${stallReasons({ ...report, probes: stuck.map((p) => ({ ...p, stalled: true })) }).join('; ')}); exiting with code ${exitCodes.stalled} so that its supervisor starts it again, from the committed offsets (ops.watchdogMs; 0 turns this off)`, { details: { stuck } });
        log.error({ err: error, code: error.code }, error.message);
        (options.onWatchdog ?? ((e: TallyError) => exitAfterDrain(e.message, exitCodes.stalled)))(error);
      }
    }
  };
  let watchdogFired = false;
  const poll = (): Promise<void> => detector.poll().then(afterPoll);

  const loopWatch = settings.blockedLoopMs > 0 ? watchEventLoop(stage, settings.blockedLoopMs) : undefined;
  let server: OpsServer | undefined;
  if (settings.port !== 0) {
    collectProcessMetrics();
    server = await startOpsServer({
      host: settings.host,
      port: settings.port,
      registry: metricsRegistry,
      health: () => ({ stage, pid: process.pid, uptimeSeconds: Math.round((now() - startedAt) / 1000) }),
      readiness,
      beforeScrape: () => {
        for (const bridge of bridges) bridge();
        updateGauges();
        readiness();
      },
    });
    log.info({ url: server.url, stage }, `ops endpoints on ${server.url}: /metrics, /healthz, /readyz`);
  }
  metrics.ready.set({ stage }, 0);

  return {
    url: server?.url,
    started(view = {}) {
      if (view.consumer) detector.add(consumerProgress(view.consumer));
      if (view.source) detector.add(sourceProgress(stage, view.source));
      for (const probe of view.probes ?? []) detector.add(probe);
      if (view.counts) bridges.push(countsBridge(stage, view.counts));
      if (state === 'starting') state = 'running';
      const watching = server !== undefined || settings.watchdogMs > 0;
      if (watching && !timer) {
        timer = setInterval(() => void poll(), settings.lagIntervalMs);
        timer.unref();
      }
      if (watching) void poll();
    },
    draining() {
      state = 'stopping';
      metrics.ready.set({ stage }, 0);
    },
    readiness,
    async poll() {
      await detector.poll();
      await poll();
    },
    close() {
      closing ??= (async () => {
        state = 'stopping';
        if (timer) clearInterval(timer);
        timer = undefined;
        await server?.close();
        await detector.close();
        await loopWatch?.stop();
      })();
      return closing;
    },
  };
}

function stallReasons(report: ProgressReport): string[] {
  return report.probes
    .filter((p) => p.stalled)
    .map((p) => `${p.probe} ${p.key}: ${p.pending ? `${p.pending} pending` : `${p.failures} failed attempt(s)`} and no progress for ${Math.round(p.stalledForMs / 1000)} s (ops.stallTimeoutMs ${report.stallTimeoutMs})`);
}
