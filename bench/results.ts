import { figure, ratioFigure, type Figure } from './stats.js';
import type { Throughput } from './measure.js';

/** The four figures every case reports for each tool, from one measured run. */
export interface RunFigures {
  eventsPerSecond: number;
  mbPerSecond: number;
  cpuSecondsPerMillion: number;
  peakRssMB: number;
  /** case-specific figures (ack latency, events per CPU second, ...) */
  extra?: Record<string, number>;
}

export type Role = 'tally' | 'ceiling' | 'peer';
export type Status = 'ok' | 'failed' | 'not installed' | 'not built' | 'skipped';

export interface ToolRow {
  tool: string;
  role: Role;
  /** how it was run (command, settings) */
  detail: string;
  status: Status;
  note?: string;
  eventsPerSecond: Figure;
  mbPerSecond: Figure;
  cpuSecondsPerMillion: Figure;
  peakRssMB: Figure;
  extra: Record<string, Figure>;
  errors: string[];
}

export interface Target {
  text: string;
  /** the ratio must be at least this (or at most, with atMost) */
  threshold: number;
  atMost?: boolean;
}

export interface RatioResult {
  name: string;
  /** what is divided by what */
  of: string;
  against: string;
  value: Figure;
  target?: Target & { met: boolean | undefined };
  note?: string;
}

export interface ProfileSummary {
  stage: string;
  file: string;
  totalMs: number;
  top: { function: string; url: string; selfMs: number; selfPercent: number }[];
  /** self time by package or source file */
  modules: { module: string; selfMs: number; selfPercent: number }[];
}

export interface CaseResult {
  id: string;
  title: string;
  status: Status;
  note?: string;
  seconds: number;
  /** what the events are: corpus, mean size */
  input: string;
  rows: ToolRow[];
  ratios: RatioResult[];
  /** free-form tables (latency, start-up) */
  tables: { title: string; columns: string[]; rows: (string | number)[][] }[];
  profiles: ProfileSummary[];
  findings: string[];
}

export function emptyCase(id: string, title: string, input: string): CaseResult {
  return { id, title, status: 'ok', seconds: 0, input, rows: [], ratios: [], tables: [], profiles: [], findings: [] };
}

export function fromThroughput(t: Throughput, meanEventBytes: number, extra?: Record<string, number>): RunFigures {
  const cpu = Object.values(t.cpuSeconds).reduce((a, b) => a + b, 0);
  const peak = Object.values(t.peakRssBytes).reduce((a, b) => a + b, 0);
  return {
    eventsPerSecond: t.eventsPerSecond,
    mbPerSecond: (t.eventsPerSecond * meanEventBytes) / 1e6,
    cpuSecondsPerMillion: (cpu / t.events) * 1e6,
    peakRssMB: peak / 2 ** 20,
    ...(extra ? { extra } : {}),
  };
}

export function toolRow(tool: string, role: Role, detail: string, runs: RunFigures[], errors: string[] = [], status?: Status): ToolRow {
  const extraKeys = [...new Set(runs.flatMap((r) => Object.keys(r.extra ?? {})))];
  return {
    tool,
    role,
    detail,
    status: status ?? (runs.length === 0 ? 'failed' : 'ok'),
    ...(errors.length ? { note: errors[0] } : {}),
    eventsPerSecond: figure(runs.map((r) => r.eventsPerSecond)),
    mbPerSecond: figure(runs.map((r) => r.mbPerSecond)),
    cpuSecondsPerMillion: figure(runs.map((r) => r.cpuSecondsPerMillion)),
    peakRssMB: figure(runs.map((r) => r.peakRssMB)),
    extra: Object.fromEntries(extraKeys.map((k) => [k, figure(runs.map((r) => r.extra?.[k] ?? Number.NaN))])),
    errors,
  };
}

export function unavailableRow(tool: string, role: Role, detail: string, status: Status, note: string): ToolRow {
  return toolRow(tool, role, detail, [], [note], status);
}

/** A ratio of two rows' figures (run by run where both have every run), checked against its target. */
export function ratio(name: string, of: ToolRow, against: ToolRow, pick: (row: ToolRow) => Figure, target?: Target, note?: string): RatioResult {
  const value = ratioFigure(pick(of), pick(against));
  return { name, of: of.tool, against: against.tool, value, ...(target ? { target: { ...target, met: judge(value.median, target) } } : {}), ...(note ? { note } : {}) };
}

/** A figure checked against an absolute target (events/s per core, records/s, latency). */
export function absolute(name: string, of: string, value: Figure, target?: Target, note?: string): RatioResult {
  return { name, of, against: target ? 'target' : 'nothing (for information)', value, ...(target ? { target: { ...target, met: judge(value.median, target) } } : {}), ...(note ? { note } : {}) };
}

function judge(value: number, target: Target): boolean | undefined {
  if (!Number.isFinite(value)) return undefined;
  return target.atMost ? value <= target.threshold : value >= target.threshold;
}

export interface ToolPlan {
  tool: string;
  role: Role;
  detail: string;
  /** one run; `warmUp` runs are measured but not kept */
  run: (index: number, warmUp: boolean) => Promise<RunFigures>;
}

/**
 * One warm-up run of every tool, then `runs` rounds, each running every tool once, in turn: tools
 * share the machine's drift (other engineers, the page cache, the broker's and ES's JIT) alike.
 */
export async function interleaved(plans: ToolPlan[], runs: number, log: (line: string) => void): Promise<ToolRow[]> {
  const results = plans.map(() => ({ runs: [] as RunFigures[], errors: [] as string[] }));
  for (let round = 0; round <= runs; round += 1) {
    for (const [i, plan] of plans.entries()) {
      const slot = results[i] as (typeof results)[number];
      if (slot.errors.length >= 2) continue; // broken twice: stop spending time on it
      const warmUp = round === 0;
      try {
        const figures = await plan.run(round, warmUp);
        log(`  ${warmUp ? 'warm-up' : `run ${round}`} ${plan.tool}: ${Math.round(figures.eventsPerSecond).toLocaleString('en')} events/s, ${figures.cpuSecondsPerMillion.toFixed(1)} CPU s/M, ${figures.peakRssMB.toFixed(0)} MB`);
        if (!warmUp) slot.runs.push(figures);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`  ${warmUp ? 'warm-up' : `run ${round}`} ${plan.tool}: FAILED ${message.slice(0, 400)}`);
        slot.errors.push(message.slice(0, 2000));
      }
    }
  }
  return plans.map((plan, i) => toolRow(plan.tool, plan.role, plan.detail, results[i]?.runs ?? [], results[i]?.errors ?? []));
}
