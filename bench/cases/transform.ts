import path from 'node:path';
import type { KafkaBackendName as Backend } from '../../pipeline/config/types.js';
import { knownKinds } from '../../pipeline/normalise/index.js';
import type { CaseContext } from '../context.js';
import { fillTopic, rawEnvelopes } from '../fill.js';
import { untilComplete } from '../measure.js';
import { parseOnlyLoop } from '../peers/parse-only.js';
import { afterRunGraceMs, startChild } from '../child.js';
import { newestProfile, summariseProfile } from '../profile.js';
import { absolute, emptyCase, fromThroughput, interleaved, ratio, type CaseResult, type RunFigures, type ToolPlan, type ToolRow } from '../results.js';
import { figure } from '../stats.js';
import { backends, benchScript, nodeOptions, readyText, startTallyStage } from '../tally-stage.js';
import type { BenchWorld } from '../world.js';
import { framedTool, framingConfig, framingDetail, framings, registryCostRatios, type ValueFraming } from '../value-framing.js';


interface KindInput {
  kind: string;
  /** what the output count is: records on the domain topic(s) */
  outputs: string[];
  lines: string[];
  /** output records per input message */
  recordsPerMessage: number;
  describe: string;
}

/**
 * Case 3, transform: raw.<kind> (envelopes exactly as `tally ship` writes them, filled before the
 * clock starts) → `tally transform` → domain topics. Ceilings: the same Bus and consumer loop
 * copying the raw messages unparsed (passthrough), and an in-process loop that only JSON-parses the
 * same values. Each run is a fresh consumer group on the same input; done = the output topics grew
 * by the expected records. Events per core = events / CPU seconds of the process.
 */
export async function transformCase(ctx: CaseContext): Promise<CaseResult> {
  const { world, log } = ctx;
  const n = world.sizes.transformEvents;
  const accounting = ctx.corpora.accounting(n);
  const meanLine = accounting.reduce((s, l) => s + Buffer.byteLength(l) + 1, 0) / accounting.length;
  const result = emptyCase('transform', 'Transform: raw.accounting → accounting.usage (Avro)', `${n.toLocaleString('en')} raw envelopes (Filebeat shape, as tally ship writes them) of accounting lines, ${meanLine.toFixed(0)} B mean line`);

  const prefix = world.topicPrefix('transform');
  const raw = rawEnvelopes(`${prefix}raw.accounting`, 'accounting', accounting, { partitions: world.sizes.partitions });
  const meanEnvelope = raw.reduce((s, r) => s + Buffer.byteLength(r.value as string), 0) / raw.length;
  await world.kafka.createTopics([`${prefix}raw.accounting`], world.sizes.partitions);
  await fillTopic(world, raw);
  log(`  filled ${prefix}raw.accounting with ${raw.length.toLocaleString('en')} envelopes (${meanEnvelope.toFixed(0)} B mean)`);

  const plans: ToolPlan[] = [];
  for (const backend of backends) {
    for (const framing of framings(world)) {
      plans.push({ tool: framedTool('tally transform', backend, framing), role: 'tally', detail: `accounting kind: envelope → JSON Schema (ajv) → normalise → Avro (avsc) → accounting.usage, acks=all; maxBatchMessages 5000 (the default), transform.exactlyOnce off; ${framingDetail(world, framing)}`, run: () => transformRun(world, prefix, backend, 'accounting', [`${prefix}accounting.usage`], n, meanEnvelope, false, { framing }) });
    }
    plans.push({ tool: `tally transform (${backend}, exactly-once)`, role: 'tally', detail: 'the same with transform.exactlyOnce: one transaction per batch (records, dead letters, offsets)', run: () => transformRun(world, prefix, backend, 'accounting', [`${prefix}accounting.usage`], n, meanEnvelope, false, { exactlyOnce: true }) });
    plans.push({ tool: `passthrough (${backend})`, role: 'ceiling', detail: 'same Bus, same consumer stage loop and producer, copies key + value unparsed to passthrough.out', run: () => passthroughRun(world, prefix, backend, 'accounting', n, meanEnvelope) });
  }
  const rows = await interleaved(plans, world.sizes.runs, log);

  // the CPU ceiling: parse-only loops on the same values, in this process
  const values = raw.map((r) => Buffer.from(r.value as string));
  const loops = { envelope: [] as number[], line: [] as number[] };
  for (let i = 0; i < world.sizes.runs; i += 1) {
    loops.envelope.push(parseOnlyLoop(values, world.sizes.parseLoopEvents, 'envelope').perCore);
    loops.line.push(parseOnlyLoop(values, world.sizes.parseLoopEvents, 'line').perCore);
  }
  const loopRow = (tool: string, perCore: number[], detail: string): ToolRow => ({
    tool,
    role: 'ceiling',
    detail,
    status: 'ok',
    eventsPerSecond: figure(perCore),
    mbPerSecond: figure(perCore.map((v) => (v * meanEnvelope) / 1e6)),
    cpuSecondsPerMillion: figure(perCore.map((v) => 1e6 / v)),
    peakRssMB: figure([Number.NaN]), // in this process: not a stage's footprint
    extra: { 'events/s per core': figure(perCore) },
    errors: [],
  });
  rows.push(loopRow('JSON.parse only (envelope + line)', loops.envelope, `in-process loop over the same ${values.length.toLocaleString('en')} Kafka values: UTF-8 decode, JSON.parse of the envelope, JSON.parse of its message; one core`));
  rows.push(loopRow('JSON.parse only (line)', loops.line, 'in-process loop: JSON.parse of the bare accounting lines; one core'));
  result.rows = rows;

  const row = (tool: string): ToolRow | undefined => rows.find((r) => r.tool === tool && r.status === 'ok');
  const perCore = (r: ToolRow) => r.extra['events/s per core'] ?? figure([]);
  const parseEnvelope = row('JSON.parse only (envelope + line)');
  const parseLine = row('JSON.parse only (line)');
  registryCostRatios(result, 'tally transform', 'transform events/s', (r) => r.eventsPerSecond, backends);
  registryCostRatios(result, 'tally transform', 'transform events/s per core', perCore, backends);
  for (const backend of backends) {
    const tally = row(`tally transform (${backend})`);
    const pass = row(`passthrough (${backend})`);
    if (!tally) continue;
    result.ratios.push(absolute(`transform (${backend}) accounting events/s per core`, tally.tool, perCore(tally), { text: '≥ 60,000 per core', threshold: 60_000 }));
    if (parseEnvelope) result.ratios.push(ratio(`transform (${backend}) per core / parse-only (envelope + line)`, tally, parseEnvelope, perCore, undefined, 'JSON.parse alone, in process'));
    if (parseLine) result.ratios.push(ratio(`transform (${backend}) per core / parse-only (line)`, tally, parseLine, perCore, undefined, 'stricter: the bare line only'));
    const exactlyOnce = row(`tally transform (${backend}, exactly-once)`);
    if (exactlyOnce) {
      result.ratios.push(ratio(`transform (${backend}) exactly-once / exactlyOnce off, per core`, exactlyOnce, tally, perCore, { text: '≥ 0.8 (exactly-once costs at most 20 %)', threshold: 0.8 }));
      result.ratios.push(ratio(`transform (${backend}) exactly-once / exactlyOnce off, events/s`, exactlyOnce, tally, (r) => r.eventsPerSecond, { text: '≥ 0.8', threshold: 0.8 }));
    }
    if (pass) {
      result.ratios.push(ratio(`transform (${backend}) / passthrough (${backend}) events/s`, tally, pass, (r) => r.eventsPerSecond, undefined, 'the I/O ceiling'));
      result.ratios.push(ratio(`transform (${backend}) / passthrough (${backend}) per core`, tally, pass, perCore, { text: '≥ 0.9 × passthrough per core', threshold: 0.9 }));
    }
  }

  // other kinds whose normalisers are registered: the same measurement, kafkajs backend (the default); full run only
  for (const input of world.quick ? [] : otherKinds(ctx)) {
    if (!knownKinds.includes(input.kind)) {
      result.findings.push(`${input.kind}: no normaliser registered yet (pipeline/normalise/index.ts), not measured`);
      continue;
    }
    try {
      const kindPrefix = world.topicPrefix(`transform-${input.kind}`);
      const kindRaw = rawEnvelopes(`${kindPrefix}raw.${input.kind}`, input.kind, input.lines, { partitions: world.sizes.partitions });
      const mean = kindRaw.reduce((s, r) => s + Buffer.byteLength(r.value as string), 0) / kindRaw.length;
      await world.kafka.createTopics([`${kindPrefix}raw.${input.kind}`], world.sizes.partitions);
      await fillTopic(world, kindRaw);
      const expected = input.lines.length * input.recordsPerMessage;
      const [kindRow] = await interleaved(
        [{ tool: `tally transform ${input.kind} (kafkajs)`, role: 'tally', detail: input.describe, run: () => transformRun(world, kindPrefix, 'kafkajs', input.kind, input.outputs.map((t) => `${kindPrefix}${t}`), expected, mean * (1 / input.recordsPerMessage)) }],
        world.sizes.runs,
        log,
      );
      if (kindRow) {
        result.rows.push(kindRow);
        if (kindRow.status === 'ok') result.ratios.push(absolute(`transform ${input.kind} records/s per core`, kindRow.tool, perCore(kindRow)));
      }
      await world.kafka.deletePrefixes([kindPrefix]);
    } catch (error) {
      result.findings.push(`${input.kind}: ${(error as Error).message}`);
    }
  }

  if (ctx.profile) {
    for (const backend of backends) {
      const since = Date.now();
      try {
        await transformRun(world, prefix, backend, 'accounting', [`${prefix}accounting.usage`], n, meanEnvelope, true);
        const file = newestProfile(path.join(world.dir, 'profiles'), `transform-${backend}`, since);
        if (file) result.profiles.push(summariseProfile(`tally transform (${backend})`, file));
      } catch (error) {
        log(`  profile of transform (${backend}) failed: ${(error as Error).message}`);
      }
    }
  }
  await world.kafka.deletePrefixes([prefix]);
  return result;
}

function otherKinds(ctx: CaseContext): KindInput[] {
  const n = ctx.world.sizes.transformOtherEvents;
  return [
    { kind: 'apel-message', outputs: ['cloud.vm'], lines: ctx.corpora.apelMessages(n), recordsPerMessage: 100, describe: `APEL cloud v0.4 messages of 100 VM records each (${n.toLocaleString('en')} records) → cloud.vm; events = records` },
    { kind: 'ror-audit', outputs: ['audit.events'], lines: ctx.corpora.rorAudit(n), recordsPerMessage: 1, describe: `${n.toLocaleString('en')} ROR ctsec_audit_a.log CSV lines → audit.events` },
    { kind: 'oslo-log', outputs: ['ops.logs'], lines: ctx.corpora.osloLog(n), recordsPerMessage: 1, describe: `${n.toLocaleString('en')} oslo.log text lines (nova) → ops.logs` },
  ];
}

async function outputCount(world: BenchWorld, topics: string[]): Promise<number> {
  let sum = 0;
  for (const topic of topics) sum += await world.kafka.endOffsets(topic);
  return sum;
}

/**
 * One run of `tally transform` as a process: a fresh group reads the whole raw topic; done when the
 * outputs grew by `expected` (with exactly-once the end offsets count commit markers too, one per
 * partition and transaction: a fraction of a percent of a batch of thousands).
 */
export async function transformRun(world: BenchWorld, prefix: string, backend: Backend, kind: string, outputs: string[], expected: number, meanInputBytes: number, cpuProfile = false, variant: { framing?: ValueFraming; exactlyOnce?: boolean } = {}): Promise<RunFigures> {
  const { framing = 'default', exactlyOnce = false } = variant;
  const group = world.group(`transform-${backend}`);
  const configFile = world.tallyConfig(`transform-${backend}-${exactlyOnce ? 'eos' : 'alo'}`, { kafka: { backend, topicPrefix: prefix }, transform: { kinds: [kind], groupId: group, exactlyOnce }, ...framingConfig(framing) });
  const before = await outputCount(world, outputs);
  const child = await startTallyStage(world, { label: `transform-${backend}`, configFile, args: ['transform'], ready: readyText.transform, cpuProfile });
  try {
    const t = await untilComplete({ count: async () => (await outputCount(world, outputs)) - before, target: expected, processes: [child] });
    const cpu = Object.values(t.cpuSeconds)[0] ?? Number.NaN;
    const dlq = await world.kafka.endOffsets(`${prefix}dlq.${kind}`);
    return { ...fromThroughput(t, meanInputBytes), extra: { 'events/s per core': t.events / cpu, ...(dlq ? { 'dead letters': dlq } : {}) } };
  } finally {
    await child.stop(cpuProfile ? 20_000 : afterRunGraceMs);
  }
}

async function passthroughRun(world: BenchWorld, prefix: string, backend: Backend, kind: string, expected: number, meanInputBytes: number): Promise<RunFigures> {
  const group = world.group(`passthrough-${backend}`);
  const configFile = world.tallyConfig(`passthrough-${backend}`, { kafka: { backend, topicPrefix: prefix }, transform: { kinds: [kind] } });
  const out = `${prefix}passthrough.out`;
  await world.kafka.createTopics([out], world.sizes.partitions).catch(() => undefined);
  const before = await world.kafka.endOffsets(out);
  const child = startChild(`passthrough-${backend}`, process.execPath, [...nodeOptions, benchScript('passthrough'), configFile, group], { logFile: world.logFile(`passthrough-${backend}`), readyText: /^bench passthrough running/m });
  try {
    await child.ready();
    const t = await untilComplete({ count: async () => (await world.kafka.endOffsets(out)) - before, target: expected, processes: [child] });
    const cpu = Object.values(t.cpuSeconds)[0] ?? Number.NaN;
    return { ...fromThroughput(t, meanInputBytes), extra: { 'events/s per core': t.events / cpu } };
  } finally {
    await child.stop(afterRunGraceMs);
  }
}
