import type { MeasuredChild } from './child.js';
import type { ProcSample } from './proc.js';

/** What one measured run of a stage achieved, between two observations of its output. */
export interface Throughput {
  /** events counted between the first observation with output and the one that reached the target */
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** CPU seconds of each measured process over the same window */
  cpuSeconds: Record<string, number>;
  /** VmHWM of each measured process at the end */
  peakRssBytes: Record<string, number>;
  /** VmRSS at the end */
  rssBytes: Record<string, number>;
}

export interface CompletionOptions {
  /** how many events the output holds now (Kafka end offsets, Elasticsearch index_total, files) */
  count: () => Promise<number>;
  target: number;
  /** processes whose CPU and memory count for this stage */
  processes: readonly MeasuredChild[];
  /** processes that must keep running while the stage works (the client feeding it) but whose CPU does not count */
  feeders?: readonly MeasuredChild[];
  intervalMs?: number;
  /** fail when the count has not moved for this long */
  stallMs?: number;
  timeoutMs?: number;
}

/**
 * Poll the output until it holds `target` events. The window starts at the first poll that sees
 * output (n0 events at t0) and ends at the poll that sees the target (n1 at t1): rate =
 * (n1 − n0) / (t1 − t0). Start-up, file discovery and the first batch's latency stay outside, the
 * same way for every tool, whatever its start-up or discovery mechanism. CPU is read from /proc at
 * the same two polls.
 */
export async function untilComplete(options: CompletionOptions): Promise<Throughput> {
  const intervalMs = options.intervalMs ?? 50;
  const stallMs = options.stallMs ?? 30_000;
  const deadline = performance.now() + (options.timeoutMs ?? 600_000);
  let first: { at: number; n: number; cpu: (ProcSample | undefined)[] } | undefined;
  let lastChange = performance.now();
  let last = -1;
  for (;;) {
    const n = await options.count();
    const at = performance.now();
    const cpu = options.processes.map((p) => p.sample());
    if (n !== last) {
      last = n;
      lastChange = at;
    }
    if (n > 0 && !first) first = { at, n, cpu };
    if (n >= options.target && first) {
      const seconds = (at - first.at) / 1000;
      const events = n - first.n;
      const cpuSeconds: Record<string, number> = {};
      const peakRssBytes: Record<string, number> = {};
      const rssBytes: Record<string, number> = {};
      for (const [i, p] of options.processes.entries()) {
        const end = cpu[i] ?? p.lastSample;
        // a tool that exits when done (kcat) may be gone at the last poll: its exact total CPU (bash `times`), less what it had used at the first poll
        const exact = p.exactCpuOnExit ? await p.finalCpuSeconds() : undefined;
        const endCpu = exact ?? end?.cpuSeconds ?? Number.NaN;
        cpuSeconds[p.label] = endCpu - (first.cpu[i]?.cpuSeconds ?? 0);
        peakRssBytes[p.label] = Math.max(p.peakRssBytes, end?.peakRssBytes ?? 0) || Number.NaN;
        rssBytes[p.label] = end?.rssBytes ?? Number.NaN;
      }
      return { events, seconds, eventsPerSecond: seconds > 0 ? events / seconds : Number.NaN, cpuSeconds, peakRssBytes, rssBytes };
    }
    const dead = [...options.processes, ...(options.feeders ?? [])].find((p) => !p.running);
    if (dead) throw new Error(`${dead.label} exited (${dead.proc.exitCode ?? dead.proc.signalCode}) with ${n} of ${options.target} events done: ${dead.output().slice(-1500)}`);
    if (at - lastChange > stallMs) throw new Error(`stalled at ${n} of ${options.target} events for ${Math.round(stallMs / 1000)} s`);
    if (at > deadline) throw new Error(`timed out at ${n} of ${options.target} events`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
