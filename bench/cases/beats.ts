import os from 'node:os';
import type { KafkaBackendName as Backend } from '../../pipeline/config/types.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterRunGraceMs } from '../child.js';
import type { CaseContext } from '../context.js';
import { untilComplete } from '../measure.js';
import { filebeatTool, kcatTool, installHint } from '../peers/installed.js';
import { startFilebeatFileToBeats } from '../peers/filebeat.js';
import { startKcatProducer } from '../peers/kcat.js';
import { encodeWindows, sendWindows } from '../peers/lumberjack-sender.js';
import { newestProfile, summariseProfile } from '../profile.js';
import { emptyCase, fromThroughput, interleaved, ratio, unavailableRow, type CaseResult, type RunFigures, type ToolPlan, type ToolRow } from '../results.js';
import { quantile } from '../stats.js';
import { backends, readyText, startTallyStage } from '../tally-stage.js';
import { benchUser } from '../world.js';

const windowSize = 2048;

/**
 * Case 2, Beats ingest: a Filebeat-like sender (windows of 2,048 events, zlib level 3, pipelining 2,
 * one connection, pre-encoded) → `tally beats` → raw.accounting, acks=all. Ceiling: kcat producing
 * the same event JSON, one message per event, to the same kind of topic. Also: the ACK latency of
 * each window (write → ACK, which the server sends only after Kafka acknowledged every event).
 */
export async function beatsCase(ctx: CaseContext): Promise<CaseResult> {
  const { world, log } = ctx;
  const n = world.sizes.beatsEvents;
  const lines = ctx.corpora.accounting(n);
  const host = os.hostname();
  const events = lines.map((message, i) => ({
    '@timestamp': '2026-12-01T00:00:00.000Z',
    message,
    log: { file: { path: '/var/log/neanias/accounting.json' }, offset: i * 310 },
    input: { type: 'filestream' },
    host: { name: host },
    agent: { type: 'filebeat', version: '8.19.0', name: host },
    ecs: { version: '8.0.0' },
  }));
  const windows = encodeWindows(events, windowSize);
  const eventJson = events.map((e) => JSON.stringify(e));
  const meanEvent = eventJson.reduce((s, e) => s + Buffer.byteLength(e) + 1, 0) / eventJson.length;
  // kcat is ~10× faster: it gets the same events three times over, so its window is long enough to time well
  const kcatRepeats = 3;
  const eventFile = path.join(world.dir, 'corpus', `beats-events-${n}x${kcatRepeats}.ndjson`);
  writeFileSync(eventFile, `${eventJson.join('\n')}\n`.repeat(kcatRepeats), { mode: 0o644 });
  const result = emptyCase('beats', 'Beats ingest: lumberjack v2 → Kafka', `${n.toLocaleString('en')} Filebeat events (accounting lines in Filebeat's event shape, ${meanEvent.toFixed(0)} B mean JSON) in ${windows.length} compressed windows of ${windowSize}`);
  const latencyByBackend = new Map<Backend, number[][]>();

  const beatsRun = async (backend: Backend, cpuProfile = false): Promise<RunFigures> => {
    const prefix = world.topicPrefix(`beats-${backend}`);
    const topic = `${prefix}raw.accounting`;
    await world.kafka.createTopics([topic], world.sizes.partitions);
    const configFile = world.tallyConfig(`beats-${backend}`, { kafka: { backend, topicPrefix: prefix }, beats: { host: '127.0.0.1', port: 0 } });
    const child = await startTallyStage(world, { label: `beats-${backend}`, configFile, args: ['beats'], ready: readyText.beats, cpuProfile });
    try {
      const port = Number(/listening on [^:\s]+:(\d+)/.exec(child.output())?.[1]);
      const sending = sendWindows('127.0.0.1', port, windows);
      sending.catch(() => undefined);
      const t = await untilComplete({ count: () => world.kafka.endOffsets(topic), target: n, processes: [child], intervalMs: 25 });
      const sent = await sending;
      const sorted = [...sent.ackLatencyMs].sort((a, b) => a - b);
      if (!cpuProfile) latencyByBackend.set(backend, [...(latencyByBackend.get(backend) ?? []), sorted]);
      return fromThroughput(t, meanEvent, { 'ack p50 ms': quantile(sorted, 0.5), 'ack p99 ms': quantile(sorted, 0.99), 'ack max ms': sorted[sorted.length - 1] ?? Number.NaN });
    } finally {
      await child.stop(cpuProfile ? 20_000 : afterRunGraceMs);
      await world.kafka.deletePrefixes([prefix]);
    }
  };

  const plans: ToolPlan[] = [];
  const unavailable: ToolRow[] = [];
  const kcat = kcatTool();
  if (kcat) {
    plans.push({
      tool: 'kcat -P (same events)',
      role: 'ceiling',
      detail: `${kcat.version}; the same event JSON (the ${n.toLocaleString('en')} events ${kcatRepeats} times over, for a long enough window), one message per line, acks=all, no compression`,
      run: async () => {
        const prefix = world.topicPrefix('beats-kcat');
        const topic = `${prefix}raw.accounting`;
        await world.kafka.createTopics([topic], world.sizes.partitions);
        const child = startKcatProducer(kcat, { brokers: world.config.kafka.brokers, topic, file: eventFile, logFile: world.logFile('beats-kcat'), user: benchUser });
        try {
          return fromThroughput(await untilComplete({ count: () => world.kafka.endOffsets(topic), target: n * kcatRepeats, processes: [child], intervalMs: 5 }), meanEvent);
        } finally {
          await child.stop(5000);
          await world.kafka.deletePrefixes([prefix]);
        }
      },
    });
  } else unavailable.push(unavailableRow('kcat -P (same events)', 'ceiling', 'kcat', 'not installed', `kcat is not installed: ${installHint}`));
  for (const backend of backends) {
    plans.push({ tool: `tally beats (${backend})`, role: 'tally', detail: 'lumberjack v2 server, defaults; one connection, windows of 2,048, zlib 3, pipelining 2; ACK after Kafka acks=all', run: () => beatsRun(backend) });
  }
  // the real client: Filebeat reads the same accounting lines from a file and sends them over output.logstash
  const filebeat = filebeatTool();
  const corpus = ctx.corpora.accountingFile(n);
  const filebeatRun = (backend: Backend) => async (): Promise<RunFigures> => {
    const prefix = world.topicPrefix(`beats-filebeat-${backend}`);
    const topic = `${prefix}raw.accounting`;
    await world.kafka.createTopics([topic], world.sizes.partitions);
    const configFile = world.tallyConfig(`beats-filebeat-${backend}`, { kafka: { backend, topicPrefix: prefix }, beats: { host: '127.0.0.1', port: 0 } });
    const child = await startTallyStage(world, { label: `beats-filebeat-${backend}`, configFile, args: ['beats'], ready: readyText.beats });
    const dir = world.workDir(`beats-filebeat-${backend}`);
    const client = startFilebeatFileToBeats(filebeat as NonNullable<typeof filebeat>, { dir, logFile: world.logFile(`beats-filebeat-${backend}`), user: benchUser, file: corpus.path, host: '127.0.0.1', port: Number(/listening on [^:\s]+:(\d+)/.exec(child.output())?.[1]) });
    try {
      // tally beats' own cost: Filebeat is the client here, as the in-process sender is above
      return fromThroughput(await untilComplete({ count: () => world.kafka.endOffsets(topic), target: corpus.lines, processes: [child], feeders: [client], intervalMs: 25 }), corpus.meanLineBytes);
    } finally {
      await client.stop(afterRunGraceMs);
      await child.stop(afterRunGraceMs);
      await world.kafka.deletePrefixes([prefix]);
    }
  };
  for (const backend of backends) {
    const tool = `Filebeat → tally beats (${backend})`;
    if (filebeat) plans.push({ tool, role: 'tally', detail: `${filebeat.version} as the client: log input on the same ${corpus.lines.toLocaleString('en')} lines in a file, output.logstash pipelining 2, zlib 3, bulk_max_size 2048; figures of tally beats alone, MB/s of the file's lines (Filebeat's own events are larger)`, run: filebeatRun(backend) });
    else unavailable.push(unavailableRow(tool, 'tally', 'filebeat', 'not installed', `Filebeat is not built: ${installHint} (builds it from the Go module proxy)`));
  }
  result.rows = [...(await interleaved(plans, world.sizes.runs, log)), ...unavailable];
  const ceiling = result.rows.find((r) => r.tool.startsWith('kcat') && r.status === 'ok');
  for (const backend of backends) {
    const tally = result.rows.find((r) => r.tool === `tally beats (${backend})` && r.status === 'ok');
    if (tally && ceiling) result.ratios.push(ratio(`beats (${backend}) / kcat on the same events`, tally, ceiling, (r) => r.eventsPerSecond, undefined, 'ceiling: Kafka producing the same bytes'));
    const withFilebeat = result.rows.find((r) => r.tool === `Filebeat → tally beats (${backend})` && r.status === 'ok');
    if (withFilebeat && tally) result.ratios.push(ratio(`beats (${backend}) with Filebeat as the client / with the pre-encoded sender`, withFilebeat, tally, (r) => r.eventsPerSecond, undefined, 'what the real client, on the same cores, leaves of the rate'));
  }
  if (ctx.profile) {
    for (const backend of backends) {
      const since = Date.now();
      try {
        await beatsRun(backend, true);
        const file = newestProfile(path.join(world.dir, 'profiles'), `beats-${backend}`, since);
        if (file) result.profiles.push(summariseProfile(`tally beats (${backend})`, file));
      } catch (error) {
        log(`  profile of beats (${backend}) failed: ${(error as Error).message}`);
      }
    }
  }
  return result;
}
