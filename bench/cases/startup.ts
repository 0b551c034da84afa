import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterRunGraceMs } from '../child.js';
import type { CaseContext } from '../context.js';
import { absolute, emptyCase, type CaseResult } from '../results.js';
import { figure } from '../stats.js';
import { backends, readyText, startTallyStage, type StageLaunch } from '../tally-stage.js';
import type { BenchWorld } from '../world.js';

/** How long a stage sits idle after its ready line before its resident set is read. */
const settleMs = 1500;

interface StagePlan {
  stage: string;
  launch: (world: BenchWorld, backend: 'kafkajs' | 'rdkafka') => Promise<StageLaunch>;
}

/**
 * Case 7, start-up and footprint: each stage process, from spawn to its ready line on stdout (the
 * process is serving: tailing, listening, consuming), on fresh topics and indices; then its VmRSS
 * after 1.5 s idle. Under load, the end-to-end case reports each stage's steady-state RSS too.
 */
export async function startupCase(ctx: CaseContext): Promise<CaseResult> {
  const { world, log } = ctx;
  const result = emptyCase('startup', 'Start-up and footprint', `each stage started ${world.sizes.startupRepeats} times (after one warm-up start) on fresh topics, idle input; ready = its "… running/listening" line`);
  const plans: StagePlan[] = [
    {
      stage: 'ship',
      launch: async (w, backend) => {
        const prefix = w.topicPrefix('startup-ship');
        const dir = w.workDir('startup-ship');
        mkdirSync(path.join(dir, 'in'), { recursive: true });
        const configFile = w.tallyConfig('startup-ship', { kafka: { backend, topicPrefix: prefix }, ship: { inputs: [{ paths: [path.join(dir, 'in', '*.log')], kind: 'accounting', registryPath: path.join(dir, 'registry.json') }] } });
        return { label: `startup-ship-${backend}`, configFile, args: ['ship'], ready: readyText.ship };
      },
    },
    {
      stage: 'beats',
      launch: async (w, backend) => {
        const configFile = w.tallyConfig('startup-beats', { kafka: { backend, topicPrefix: w.topicPrefix('startup-beats') }, beats: { host: '127.0.0.1', port: 0 } });
        return { label: `startup-beats-${backend}`, configFile, args: ['beats'], ready: readyText.beats };
      },
    },
    {
      stage: 'transform',
      launch: async (w, backend) => {
        const configFile = w.tallyConfig('startup-transform', { kafka: { backend, topicPrefix: w.topicPrefix('startup-transform') }, transform: { groupId: w.group('startup-transform') } });
        return { label: `startup-transform-${backend}`, configFile, args: ['transform'], ready: readyText.transform };
      },
    },
    {
      stage: 'sink elasticsearch',
      launch: async (w, backend) => {
        const prefix = w.topicPrefix('startup-sink');
        // the sink needs its topic to exist (it does not create it): the transform does that in a pipeline
        await w.kafka.createTopics([`${prefix}accounting.usage`], w.sizes.partitions);
        const configFile = w.tallyConfig('startup-sink', { kafka: { backend, topicPrefix: prefix }, elasticsearch: { indexPrefix: w.indexPrefix('startup-sink') }, sinks: { elasticsearch: { groupId: w.group('startup-sink'), topics: ['accounting.usage'] } } });
        return { label: `startup-sink-${backend}`, configFile, args: ['sink', 'elasticsearch'], ready: readyText.sinkElasticsearch };
      },
    },
  ];
  const rows: (string | number)[][] = [];
  // --quick: the default backend only
  for (const backend of world.quick ? (['kafkajs'] as const) : backends) {
    for (const plan of plans) {
      const ready: number[] = [];
      const rss: number[] = [];
      const errors: string[] = [];
      for (let i = 0; i <= world.sizes.startupRepeats; i += 1) {
        try {
          const child = await startTallyStage(world, await plan.launch(world, backend));
          await new Promise((resolve) => setTimeout(resolve, settleMs));
          const sample = child.sample();
          await child.stop(afterRunGraceMs);
          if (i === 0) continue; // warm-up start: the page cache holds node, the modules and the native addon afterwards
          ready.push(child.readyMs ?? Number.NaN);
          rss.push((sample?.rssBytes ?? Number.NaN) / 2 ** 20);
        } catch (error) {
          errors.push((error as Error).message.slice(0, 300));
        }
      }
      const readyFigure = figure(ready);
      const rssFigure = figure(rss);
      log(`  ${plan.stage} (${backend}): ready ${readyFigure.median.toFixed(0)} ms, idle RSS ${rssFigure.median.toFixed(0)} MB${errors.length ? `, ${errors.length} failed` : ''}`);
      rows.push([`${plan.stage} (${backend})`, fmt(readyFigure, 0), fmt(rssFigure, 0), errors.length ? errors[0] ?? '' : '']);
      if (ready.length) {
        result.ratios.push(absolute(`${plan.stage} (${backend}) ready (ms)`, plan.stage, readyFigure, { text: '≤ 1,000 ms', threshold: 1000, atMost: true }));
        result.ratios.push(absolute(`${plan.stage} (${backend}) idle RSS (MB)`, plan.stage, rssFigure, { text: '< 150 MB', threshold: 150, atMost: true }));
      }
    }
  }
  result.tables.push({ title: 'Start-up: spawn → ready line (ms), and VmRSS 1.5 s after ready (MB); median (min–max)', columns: ['stage', 'ready ms', 'idle RSS MB', 'errors'], rows });
  return result;
}

function fmt(f: ReturnType<typeof figure>, digits: number): string {
  const n = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : '—');
  return f.min === f.max ? n(f.median) : `${n(f.median)} (${n(f.min)}–${n(f.max)})`;
}
