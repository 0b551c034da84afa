import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { CaseContext } from '../context.js';
import { accountingLine, corpusSeed } from '../corpus.js';
import type { MeasuredChild } from '../child.js';
import { SeededRandom } from '../random.js';
import { SeenValues } from '../seen-values.js';
import { absolute, emptyCase, type CaseResult } from '../results.js';
import { figure, sortedQuantile } from '../stats.js';
import { readyText, startTallyStage } from '../tally-stage.js';
import type { BenchWorld } from '../world.js';

/** how often the poller searches and the counter samples; each costs Elasticsearch and Kafka work on the machine being measured */
const pollMs = 100;
/** seen ranges a search excludes; past these it may return documents already seen (bounded work per search) */
const excludedRangesPerSearch = 200;
/** the windows start once fewer than this many seconds of events are not yet searchable, or after steadyWaitMs */
const caughtUpSeconds = 2;
const steadyWaitMs = 180_000;

/**
 * Knobs for measuring a proposed change locally, off by default (the report says when one was on):
 * TALLY_BENCH_E2E_SHIP_POLL_MS sets the ship input's pollIntervalMs; TALLY_BENCH_E2E_REFRESH sets the
 * index's refresh_interval once the sink created it.
 */
const experiment = {
  shipPollMs: process.env.TALLY_BENCH_E2E_SHIP_POLL_MS ? Number(process.env.TALLY_BENCH_E2E_SHIP_POLL_MS) : undefined,
  refreshInterval: process.env.TALLY_BENCH_E2E_REFRESH || undefined,
};
const tickMs = 10;

interface Window {
  from: number;
  to: number;
}

/**
 * Case 6, end to end: lines appended to a file at a fixed rate while `tally ship`, `tally transform`
 * and `tally sink elasticsearch` run (default backend, default settings). Method: each line's
 * `value` is its sequence number; the appender keeps the time it wrote each line (one clock, this
 * process). A poller searches the index every 100 ms for values not seen yet (a real search, so
 * the refresh is included: "searchable", not just "indexed"); a value first returned by a search
 * sent at t1 and answered at t2 became searchable at about (t1 + t2) / 2, and not before the
 * previous poll. Latency = that time − append time; resolution ±50 ms. One pipeline: a warm-up
 * window, then `runs` windows of `e2eSeconds` each, every window a figure of its own.
 */
/**
 * The end-to-end run twice, transform.exactlyOnce off and on (the default), in the same bench run:
 * the on run's figures come after, marked, and the p99 difference is a ratio of its own.
 */
export async function e2eCase(ctx: CaseContext): Promise<CaseResult> {
  const off = await e2eRun(ctx, false);
  const on = await e2eRun(ctx, true);
  const marked = (text: string) => `${text} [transform.exactlyOnce on]`;
  off.tables.push(...on.tables.map((t) => ({ ...t, title: marked(t.title) })));
  off.ratios.push(...on.ratios.map((r) => ({ ...r, name: marked(r.name) })));
  off.findings.push(...on.findings.map(marked));
  const p99 = (result: CaseResult) => result.ratios.find((r) => r.name.startsWith('end-to-end p99'));
  const [withEos, without] = [p99(on), p99(off)];
  if (withEos && without) {
    const added = withEos.value.median - without.value.median;
    off.ratios.push(absolute('end-to-end p99 added by exactly-once (ms): on − off', 'ship → transform → sink', figure([added]), { text: '≤ +200 ms', threshold: 200, atMost: true }));
  }
  return off;
}

async function e2eRun(ctx: CaseContext, exactlyOnce: boolean): Promise<CaseResult> {
  const { world, log } = ctx;
  const rate = world.sizes.e2eRate;
  const seconds = world.sizes.e2eSeconds;
  const result = emptyCase('e2e', `End to end: file → ship → transform → sink → searchable, at ${rate.toLocaleString('en')} events/s`, `accounting lines appended at ${rate.toLocaleString('en')} lines/s (${(rate / (1000 / tickMs)).toFixed(0)} every ${tickMs} ms), a warm-up window of ${Math.min(10, seconds)} s, then ${world.sizes.runs} windows of ${seconds} s`);
  const label = exactlyOnce ? 'e2e-eos' : 'e2e';
  const prefix = world.topicPrefix(label);
  const indexPrefix = world.indexPrefix(label);
  const work = world.workDir(label);
  const file = path.join(work, 'accounting.log');
  writeFileSync(file, '');
  const configFile = world.tallyConfig(label, {
    kafka: { topicPrefix: prefix },
    elasticsearch: { indexPrefix },
    ship: { inputs: [{ paths: [file], kind: 'accounting', registryPath: path.join(work, 'registry.json'), ...(experiment.shipPollMs ? { pollIntervalMs: experiment.shipPollMs } : {}) }] },
    transform: { groupId: world.group(`${label}-transform`), exactlyOnce },
    sinks: { elasticsearch: { groupId: world.group('e2e-sink'), topics: ['accounting.usage'] } },
  });
  const stages: MeasuredChild[] = [];
  try {
    // transform first: it creates accounting.usage, which the sink needs to exist when it joins its group
    stages.push(await startTallyStage(world, { label: 'e2e-transform', configFile, args: ['transform'], ready: readyText.transform }));
    stages.push(await startTallyStage(world, { label: 'e2e-sink', configFile, args: ['sink', 'elasticsearch'], ready: readyText.sinkElasticsearch }));
    stages.push(await startTallyStage(world, { label: 'e2e-ship', configFile, args: ['ship'], ready: readyText.ship }));
    const appendedAt: number[] = [];
    const seenAt: number[] = [];
    const fd = openSync(file, 'a');
    const random = new SeededRandom(corpusSeed + 6);
    let seq = 0;
    let appending = true;
    const perTick = rate / (1000 / tickMs);
    const start = performance.now();
    // the appender: a fixed schedule (catching up if a tick is late, as a real producer's backlog would)
    const appender = (async () => {
      let tick = 0;
      while (appending) {
        tick += 1;
        const due = start + tick * tickMs;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const target = Math.floor(tick * perTick);
        let text = '';
        const first = seq;
        while (seq < target) {
          seq += 1;
          text += `${accountingLine(random, seq)}\n`;
        }
        writeSync(fd, text);
        const now = performance.now();
        for (let s = first + 1; s <= seq; s += 1) appendedAt[s] = now;
      }
    })();
    // stage progress: how many events each hop holds, sampled with the searches (FIFO: the k-th event is in when the count reaches k)
    const progress = { raw: [] as [number, number][], domain: [] as [number, number][], indexed: [] as [number, number][] };
    let polling = true;
    let refreshSet = false;
    const counter = (async () => {
      while (polling) {
        const sent = performance.now();
        const [raw, domain, indexed] = await Promise.all([
          world.kafka.endOffsets(`${prefix}raw.accounting`),
          world.kafka.endOffsets(`${prefix}accounting.usage`),
          world.es.indexTotal(`${indexPrefix}*`).catch(() => 0),
        ]);
        const at = (sent + performance.now()) / 2;
        if (experiment.refreshInterval && indexed > 0 && !refreshSet) {
          refreshSet = true;
          await world.es.request('PUT', `/${encodeURIComponent(`${indexPrefix}*`)}/_settings`, { index: { refresh_interval: experiment.refreshInterval } });
        }
        progress.raw.push([at, raw]);
        progress.domain.push([at, domain]);
        progress.indexed.push([at, indexed]);
        const wait = sent + pollMs - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
    // the poller: asks only for values it has not seen (see SeenValues)
    const seen = new SeenValues();
    const poller = (async () => {
      while (polling) {
        const sent = performance.now();
        try {
          const notAgain = seen.ranges(excludedRangesPerSearch).map(([gte, lte]) => ({ range: { value: { gte, lte } } }));
          const query = { bool: { filter: [{ range: { value: { gte: seen.lowestUnseen } } }], must_not: notAgain } };
          const body = { size: 10_000, _source: false, docvalue_fields: ['value'], track_total_hits: false, sort: [{ value: 'asc' }], query };
          const response = await world.es.request('POST', `/${encodeURIComponent(`${indexPrefix}*`)}/_search?allow_no_indices=true&ignore_unavailable=true`, body);
          const at = (sent + performance.now()) / 2;
          const hits = ((response.hits as { hits?: { fields?: { value?: number[] } }[] } | undefined)?.hits ?? []);
          for (const hit of hits) {
            const value = hit.fields?.value?.[0];
            if (value !== undefined && seen.add(value)) seenAt[value] = at;
          }
        } catch {
          /* the index may not exist yet */
        }
        const wait = sent + pollMs - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
    const windows: Window[] = [];
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const warmUpSeconds = Math.min(10, seconds);
    await sleep(warmUpSeconds * 1000);
    // a cold Elasticsearch (its JIT) indexes slower than the rate for a while; what it falls behind then is not steady state
    const warmUpStarted = performance.now() - warmUpSeconds * 1000;
    const steadyBy = performance.now() + steadyWaitMs;
    while (seq - seen.lowestUnseen > rate * caughtUpSeconds && performance.now() < steadyBy) await sleep(100);
    const behind = seq - seen.lowestUnseen;
    const warmedUp = ((performance.now() - warmUpStarted) / 1000).toFixed(0);
    if (behind > rate * caughtUpSeconds) result.findings.push(`The pipeline was still ${(behind / rate).toFixed(1)} s behind after a warm-up of ${warmedUp} s: the windows measure a pipeline that does not keep up.`);
    else if (Number(warmedUp) > warmUpSeconds + 1) result.findings.push(`Warm-up took ${warmedUp} s: the windows start once less than ${caughtUpSeconds} s of events were not yet searchable (a cold Elasticsearch indexes slower than ${rate.toLocaleString('en')}/s at first).`);
    const cpuAt = (label: string) => stages.map((s) => ({ label: s.label, sample: s.sample() })).map((x) => ({ ...x, what: label }));
    const cpuStart = cpuAt('start');
    for (let w = 0; w < world.sizes.runs; w += 1) {
      const from = seq + 1;
      await sleep(seconds * 1000);
      windows.push({ from, to: seq });
      log(`  window ${w + 1}: events ${from.toLocaleString('en')}–${seq.toLocaleString('en')}`);
    }
    const cpuEnd = cpuAt('end');
    const measuredEvents = seq - (windows[0]?.from ?? 1) + 1;
    appending = false;
    await appender;
    closeSync(fd);
    // let the tail arrive
    const deadline = performance.now() + 30_000;
    while (seen.lowestUnseen <= seq && performance.now() < deadline) await sleep(50);
    polling = false;
    await poller;
    await counter;

    const latency = { p50: [] as number[], p99: [] as number[], max: [] as number[], lost: [] as number[], rate: [] as number[] };
    for (const window of windows) {
      const values: number[] = [];
      let lost = 0;
      for (let s = window.from; s <= window.to; s += 1) {
        const seen = seenAt[s];
        const appended = appendedAt[s];
        if (seen === undefined || appended === undefined) lost += 1;
        else values.push(seen - appended);
      }
      const sorted = Float64Array.from(values).sort();
      latency.p50.push(sortedQuantile(sorted, 0.5));
      latency.p99.push(sortedQuantile(sorted, 0.99));
      latency.max.push(sorted[sorted.length - 1] ?? Number.NaN);
      latency.lost.push(lost);
      latency.rate.push((window.to - window.from + 1) / seconds);
    }
    // per hop, from the counts: when the count first reached s, event s was there
    const hop = (samples: [number, number][], from: number, to: number): number[] => {
      const out: number[] = [];
      let i = 0;
      for (let s = from; s <= to; s += 1) {
        while (i < samples.length && (samples[i] as [number, number])[1] < s) i += 1;
        const appended = appendedAt[s];
        if (i < samples.length && appended !== undefined) out.push((samples[i] as [number, number])[0] - appended);
      }
      return out.sort((a, b) => a - b);
    };
    const hopRows: (string | number)[][] = [];
    for (const [name, samples] of [['in raw.accounting (ship, acks=all)', progress.raw], ['in accounting.usage (transform)', progress.domain], ['indexed in Elasticsearch (sink, before refresh)', progress.indexed]] as const) {
      const p50s: number[] = [];
      const p99s: number[] = [];
      for (const window of windows) {
        const sorted = hop(samples, window.from, window.to);
        p50s.push(sortedQuantile(sorted, 0.5));
        p99s.push(sortedQuantile(sorted, 0.99));
      }
      hopRows.push([name, fmt(figure(p50s)), fmt(figure(p99s))]);
    }
    hopRows.push(['searchable (search sees it)', fmt(figure(latency.p50)), fmt(figure(latency.p99))]);
    result.tables.push({ title: `Where the time goes: append → each hop (ms, median of the windows; counts sampled every ${pollMs} ms, FIFO order assumed: one file is one partition)`, columns: ['event is …', 'p50', 'p99'], rows: hopRows });
    const p99 = figure(latency.p99);
    result.ratios.push(absolute('end-to-end p99 (ms), append → searchable', 'ship → transform → sink', p99, { text: '≤ 500 ms at 5,000 events/s', threshold: 500, atMost: true }));
    result.tables.push({
      title: 'Latency per event, append → searchable in Elasticsearch (ms)',
      columns: ['window', 'events', 'appended events/s', 'p50', 'p99', 'max', 'not searchable after 30 s'],
      rows: windows.map((w, i) => [String(i + 1), w.to - w.from + 1, latency.rate[i] as number, latency.p50[i] as number, latency.p99[i] as number, latency.max[i] as number, latency.lost[i] as number]),
    });
    const f = (v: number[]) => figure(v);
    result.tables.push({ title: 'Latency summary (ms): median of the windows (min–max)', columns: ['p50', 'p99', 'max'], rows: [[fmt(f(latency.p50)), fmt(f(latency.p99)), fmt(f(latency.max))]] });
    result.tables.push({
      title: 'Each stage under this load: CPU and memory (steady state = VmRSS at the end of the windows)',
      columns: ['stage', 'CPU s per M events', 'CPU % of one core', 'RSS MB (steady)', 'peak RSS MB'],
      rows: stages.map((s, i) => {
        const cpu = (cpuEnd[i]?.sample?.cpuSeconds ?? Number.NaN) - (cpuStart[i]?.sample?.cpuSeconds ?? Number.NaN);
        const elapsed = ((cpuEnd[i]?.sample?.atMs ?? 0) - (cpuStart[i]?.sample?.atMs ?? 0)) / 1000;
        return [s.label.replace('e2e-', ''), (cpu / measuredEvents) * 1e6, (100 * cpu) / elapsed, (cpuEnd[i]?.sample?.rssBytes ?? Number.NaN) / 2 ** 20, (cpuEnd[i]?.sample?.peakRssBytes ?? Number.NaN) / 2 ** 20];
      }),
    });
    for (const [i, s] of stages.entries()) {
      const rss = (cpuEnd[i]?.sample?.rssBytes ?? Number.NaN) / 2 ** 20;
      result.ratios.push(absolute(`${s.label.replace('e2e-', '')} steady-state RSS under load (MB)`, s.label, figure([rss]), { text: '< 150 MB', threshold: 150, atMost: true }));
    }
    const lost = latency.lost.reduce((a, b) => a + b, 0);
    if (lost) result.findings.push(`${lost} events were not searchable 30 s after the last append.`);
    await summariseRefresh(world, indexPrefix, result);
    if (exactlyOnce) result.findings.push(`With exactly-once the transform hop is counted from accounting.usage's end offsets, which include a commit marker per partition per transaction: that count runs ahead of the records (figures below the ship hop, even negative). The searchable latency, from the documents themselves, is exact.`);
    if (experiment.shipPollMs || experiment.refreshInterval) result.findings.push(`EXPERIMENT: ${JSON.stringify(experiment)} (not the defaults)`);
  } finally {
    for (const stage of stages.reverse()) await stage.stop();
  }
  return result;
}

function fmt(f: ReturnType<typeof figure>): string {
  const n = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '—');
  return `${n(f.median)} (${n(f.min)}–${n(f.max)})`;
}

/** The index's refresh interval bounds "searchable": say what it was. */
async function summariseRefresh(world: BenchWorld, indexPrefix: string, result: CaseResult): Promise<void> {
  try {
    const settings = await world.es.request('GET', `/${encodeURIComponent(`${indexPrefix}*`)}/_settings/index.refresh_interval?include_defaults=true`);
    const first = Object.values(settings)[0] as { settings?: { index?: { refresh_interval?: string } }; defaults?: { index?: { refresh_interval?: string } } } | undefined;
    const interval = first?.settings?.index?.refresh_interval ?? first?.defaults?.index?.refresh_interval ?? 'unknown';
    result.findings.push(`The index's refresh_interval is ${interval}: a document becomes searchable at the next refresh after it is indexed, so up to that much of each latency is Elasticsearch's refresh, not the pipeline.`);
  } catch {
    /* informational only */
  }
}
