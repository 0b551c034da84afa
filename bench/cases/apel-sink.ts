import { existsSync } from 'node:fs';
import type { KafkaBackendName as Backend } from '../../pipeline/config/types.js';
import path from 'node:path';
import type { IncomingMessage, OutgoingRecord } from '../../pipeline/bus/types.js';
import { projectRoot } from '../../pipeline/paths.js';
import { normaliserFor } from '../../pipeline/normalise/index.js';
import { transformMessage } from '../../pipeline/transform/transform-message.js';
import { afterRunGraceMs, startChild, type MeasuredChild } from '../child.js';
import type { CaseContext } from '../context.js';
import { fillTopic, rawEnvelopes } from '../fill.js';
import { untilComplete } from '../measure.js';
import { absolute, emptyCase, fromThroughput, interleaved, ratio, type CaseResult, type ToolPlan, type ToolRow } from '../results.js';
import { newestProfile, summariseProfile } from '../profile.js';
import { backends, benchScript, nodeOptions } from '../tally-stage.js';
import { framedRecords, framedTool, framingConfig, framingDetail, framings, registryCostRatios, type ValueFraming } from '../value-framing.js';


/** files per directory fsync in the ceiling writer */
const filesPerDirectorySync = 10;

/** Whether the APEL sink exists in this build (another engineer is writing it). */
export async function apelSinkBuilt(): Promise<boolean> {
  const file = path.join(projectRoot, 'dist', 'connectors', 'sinks', 'apel', 'sink.js');
  if (!existsSync(file)) return false;
  try {
    const specifier = '../../connectors/sinks/apel/sink.js';
    const module = (await import(specifier)) as Record<string, unknown>;
    return typeof module.startApelSink === 'function';
  } catch {
    return false;
  }
}

/** the last `written <n>` line of a runner's output */
function writtenSoFar(child: MeasuredChild): number {
  const text = child.output();
  const at = text.lastIndexOf('written ');
  return at < 0 ? 0 : Number(/^written (\d+)/.exec(text.slice(at))?.[1] ?? 0);
}

/**
 * Case 5, APEL sink: cloud.vm Avro records (made from APEL cloud messages by the transform's own
 * code, filled before the clock) → the APEL sink → APEL cloud messages in a dirq outgoing queue
 * (tmp, fsync, link, directory fsync). Ceiling: the same bytes (the files the sink wrote) written
 * again as files with the same policy, by a minimal writer.
 */
export async function apelSinkCase(ctx: CaseContext): Promise<CaseResult> {
  const { world, log } = ctx;
  const n = world.sizes.apelRecords;
  const result = emptyCase('apel-sink', 'APEL sink: cloud.vm → SSM outgoing queue', `${n.toLocaleString('en')} cloud.vm records (from APEL cloud v0.4 messages of 100 VM records) → APEL messages of 100 records`);
  if (!(await apelSinkBuilt())) {
    result.status = 'not built';
    result.note = 'connectors/sinks/apel (startApelSink) is not in this build yet';
    return result;
  }
  const prefix = world.topicPrefix('apel');
  const messages = ctx.corpora.apelMessages(n);
  const raw = rawEnvelopes(`${prefix}raw.apel-message`, 'apel-message', messages, { partitions: world.sizes.partitions });
  const normaliser = normaliserFor('apel-message');
  const cloudRecords = (topicPrefix: string): OutgoingRecord[] => {
    const records: OutgoingRecord[] = [];
    raw.forEach((r, i) => {
      const message: IncomingMessage = { topic: r.topic, partition: 0, offset: String(i), key: null, value: Buffer.from(r.value as string), headers: {}, timestamp: Date.now(), generation: 0 };
      const out = transformMessage(message, 'apel-message', normaliser, (name) => `${topicPrefix}${name}`);
      if (out.deadLetters.length) throw new Error(`APEL corpus message ${i} was rejected: ${String(out.deadLetters[0]?.value).slice(0, 400)}`);
      for (const record of out.records) records.push({ ...record, partition: records.length % world.sizes.partitions });
    });
    if (records.length !== n) throw new Error(`expected ${n} cloud.vm records, the normaliser made ${records.length}`);
    return records;
  };
  /** the same records as each framing writes them, on a topic prefix each */
  const framedPrefix: Record<ValueFraming, string> = { default: prefix, bare: prefix };
  let meanRecord = 0;
  for (const framing of framings(world)) {
    if (framing === 'default' && framings(world).includes('bare')) framedPrefix.default = world.topicPrefix('apel-registry');
    const physical = `${framedPrefix[framing]}cloud.vm`;
    const records = await framedRecords(world, framing, [{ physical, logical: 'cloud.vm' }], () => cloudRecords(framedPrefix[framing]));
    await world.kafka.createTopics([physical], world.sizes.partitions);
    await fillTopic(world, records);
    meanRecord = records.reduce((s, r) => s + (r.value as Buffer).length, 0) / records.length;
  }
  let lastQueue: string | undefined;

  const sinkRun = async (backend: Backend, cpuProfile = false, framing: ValueFraming = 'default') => {
    const queue = path.join(world.workDir('apel-queue'), 'outgoing');
    const configFile = world.tallyConfig(`apel-sink-${backend}`, { kafka: { backend, topicPrefix: framedPrefix[framing] }, ...framingConfig(framing) });
    const profile = cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(world.dir, 'profiles')}`, `--cpu-prof-name=apel-sink-${backend}-${Date.now()}.cpuprofile`] : [];
    const child = startChild(`apel-sink-${backend}`, process.execPath, [...nodeOptions, ...profile, benchScript('apel-sink-runner'), configFile, queue, world.group('apel')], { logFile: world.logFile(`apel-sink-${backend}`), readyText: /^bench apel sink running/m });
    try {
      await child.ready();
      const t = await untilComplete({ count: async () => writtenSoFar(child), target: n, processes: [child], intervalMs: 10 });
      if (!cpuProfile) lastQueue = queue;
      return fromThroughput(t, meanRecord);
    } finally {
      await child.stop(cpuProfile ? 20_000 : afterRunGraceMs);
    }
  };
  const plans: ToolPlan[] = [];
  for (const backend of backends) {
    for (const framing of framings(world)) {
      plans.push({
        tool: framedTool('tally sink apel', backend, framing),
        role: 'tally',
        detail: `startApelSink in its own process (bench/peers/apel-sink-runner.ts), ${backend}, defaults: Avro decode → APEL cloud text → messages of 100 records → dirq element (tmp, fsync, link, directory fsync); ${framingDetail(world, framing)}`,
        run: () => sinkRun(backend, false, framing),
      });
    }
  }
  plans.push({
    tool: 'same bytes as files (fsync per file)',
    role: 'ceiling',
    detail: `the files the preceding sink run wrote, written again by a minimal writer: tmp (O_EXCL), fsync, link, unlink, one directory fsync per ${filesPerDirectorySync} files`,
    run: async () => {
      if (!lastQueue) throw new Error('no sink run to copy');
      const target = path.join(world.workDir('apel-files'), 'out');
      const child = startChild('file-writer', process.execPath, [...nodeOptions, benchScript('file-writer'), lastQueue, target, String(filesPerDirectorySync)], { logFile: world.logFile('file-writer'), readyText: /^bench file-writer ready/m });
      await child.ready();
      try {
        return fromThroughput(await untilComplete({ count: async () => writtenSoFar(child), target: n, processes: [child], intervalMs: 5 }), meanRecord);
      } finally {
        await child.exit(30_000);
      }
    },
  });
  result.rows = await interleaved(plans, world.sizes.runs, log);
  registryCostRatios(result, 'tally sink apel', 'APEL sink records/s', (r) => r.eventsPerSecond, backends);
  const ceiling = result.rows.find((r) => r.role === 'ceiling' && r.status === 'ok');
  for (const backend of backends) {
    const tally = result.rows.find((r): r is ToolRow => r.tool === `tally sink apel (${backend})` && r.status === 'ok');
    if (tally) result.ratios.push(absolute(`APEL sink (${backend}) records/s`, tally.tool, tally.eventsPerSecond, { text: '≥ 50,000 records/s', threshold: 50_000 }));
    if (tally && ceiling) result.ratios.push(ratio(`APEL sink (${backend}) / same bytes as files`, tally, ceiling, (r) => r.eventsPerSecond));
  }
  if (ctx.profile) {
    const since = Date.now();
    try {
      for (const backend of backends) {
        await sinkRun(backend, true);
        const file = newestProfile(path.join(world.dir, 'profiles'), `apel-sink-${backend}`, since);
        if (file) result.profiles.push(summariseProfile(`tally sink apel (${backend})`, file));
      }
    } catch (error) {
      log(`  profile of the APEL sink failed: ${(error as Error).message}`);
    }
  }
  await world.kafka.deletePrefixes([...new Set(Object.values(framedPrefix))]);
  return result;
}
