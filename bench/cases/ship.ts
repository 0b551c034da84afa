import path from 'node:path';
import type { KafkaBackendName as Backend } from '../../pipeline/config/types.js';
import type { CaseContext } from '../context.js';
import type { CorpusFile } from '../corpus.js';
import { afterRunGraceMs, startChild, type MeasuredChild } from '../child.js';
import { untilComplete } from '../measure.js';
import { filebeatTool, kcatTool, rsyslogTool, syslogNgTool, installHint } from '../peers/installed.js';
import { startFilebeatFileToKafka } from '../peers/filebeat.js';
import { startKcatProducer } from '../peers/kcat.js';
import { startRsyslogFileToKafka } from '../peers/rsyslog.js';
import { startSyslogNgFileToKafka } from '../peers/syslog-ng.js';
import { newestProfile, summariseProfile } from '../profile.js';
import { emptyCase, fromThroughput, interleaved, ratio, unavailableRow, type CaseResult, type RunFigures, type ToolPlan, type ToolRow } from '../results.js';
import { backends, benchScript, nodeOptions, readyText, startTallyStage } from '../tally-stage.js';
import { benchUser } from '../world.js';
import { chownTree } from '../files.js';


/**
 * Case 1, file → Kafka: every tool reads the same accounting file from its start and produces one
 * message per line with acks=all into a fresh topic of the same shape. Done = the topic's end
 * offsets reach the line count; the rate is taken between the first poll that sees output and the
 * one that sees all of it (start-up and discovery excluded alike).
 */
export async function shipCase(ctx: CaseContext): Promise<CaseResult> {
  const { world, log } = ctx;
  const full = ctx.corpora.accountingFile(world.sizes.shipLines);
  const warm = ctx.corpora.accountingFile(world.sizes.shipWarmupLines);
  const result = emptyCase('ship', 'Ship: file → Kafka (acks=all)', `${full.lines.toLocaleString('en')} accounting JSON lines, ${full.meanLineBytes.toFixed(0)} B mean, one file`);
  const brokers = world.config.kafka.brokers;
  const corpusFor = (warmUp: boolean): CorpusFile => (warmUp ? warm : full);

  /** a fresh topic per run; the tool runs until the topic holds every line */
  const measured = async (label: string, warmUp: boolean, start: (topic: string, file: CorpusFile) => Promise<MeasuredChild> | MeasuredChild, intervalMs = 25): Promise<RunFigures> => {
    const corpus = corpusFor(warmUp);
    const prefix = world.topicPrefix(`ship-${label}`);
    const topic = `${prefix}raw.accounting`;
    await world.kafka.createTopics([topic], world.sizes.partitions);
    const child = await start(topic, corpus);
    try {
      const t = await untilComplete({ count: () => world.kafka.endOffsets(topic), target: corpus.lines, processes: [child], intervalMs });
      return fromThroughput(t, corpus.meanLineBytes);
    } finally {
      await child.stop(label.endsWith('-profile') ? 20_000 : afterRunGraceMs);
      await world.kafka.deletePrefixes([prefix]);
    }
  };

  const tallyShip = (backend: Backend, cpuProfile = false) => async (topic: string, corpus: CorpusFile): Promise<MeasuredChild> => {
    const prefix = topic.slice(0, -'raw.accounting'.length);
    const work = world.workDir(`ship-${backend}`);
    const configFile = world.tallyConfig(`ship-${backend}`, {
      kafka: { backend, topicPrefix: prefix },
      ship: { inputs: [{ paths: [corpus.path], kind: 'accounting', registryPath: path.join(work, 'registry.json') }] },
    });
    // reading starts before the ready line: the watcher runs from the spawn, the ready line is not awaited
    return startTallyStage(world, { label: `ship-${backend}`, configFile, args: ['ship'], ready: readyText.ship, cpuProfile, awaitReady: false });
  };

  const produceLoop = (backend: Backend) => (topic: string, corpus: CorpusFile): MeasuredChild => {
    const prefix = topic.slice(0, -'raw.accounting'.length);
    const configFile = world.tallyConfig(`produce-loop-${backend}`, { kafka: { backend, topicPrefix: prefix } });
    return startChild(`produce-loop-${backend}`, process.execPath, [...nodeOptions, benchScript('produce-loop'), configFile, corpus.path, topic, '2048', '2'], { logFile: world.logFile(`produce-loop-${backend}`), readyText: /^bench produce-loop ready/m });
  };

  const plans: ToolPlan[] = [];
  const unavailable: ToolRow[] = [];
  const kcat = kcatTool();
  if (kcat) {
    plans.push({ tool: 'kcat -P', role: 'ceiling', detail: `${kcat.version}; -l file, acks=all, linger.ms=5, batch.num.messages=10000, no compression, no key`, run: (_, warmUp) => measured('kcat', warmUp, (topic, corpus) => startKcatProducer(kcat, { brokers, topic, file: corpus.path, logFile: world.logFile('kcat'), user: benchUser }), 5) });
  } else unavailable.push(unavailableRow('kcat -P', 'ceiling', 'kcat', 'not installed', `kcat is not installed: ${installHint}`));
  for (const backend of backends) {
    plans.push({ tool: `tally ship (${backend})`, role: 'tally', detail: `Filebeat envelope per line, key = host:path, defaults (batch 2048 lines, linger 20 ms), compression none`, run: (_, warmUp) => measured(backend, warmUp, tallyShip(backend)) });
    plans.push({ tool: `produce loop (${backend})`, role: 'ceiling', detail: `the JavaScript client's own ceiling: the same envelopes and keys built before the clock (ship's template), produced through the same Bus producer in sends of 2048, ${backend === 'kafkajs' ? '1 send' : '2 sends'} in flight as ship; no file reading, registry or acknowledgement bookkeeping`, run: (_, warmUp) => measured(`loop-${backend}`, warmUp, produceLoop(backend)) });
  }
  const rsyslog = rsyslogTool();
  if (rsyslog?.modules.includes('imfile') && rsyslog.modules.includes('omkafka')) {
    plans.push({
      tool: 'rsyslog imfile → omkafka',
      role: 'peer',
      detail: `${rsyslog.version}; imfile inotify from the start, %rawmsg%, acks=all, same librdkafka settings; run as nobody`,
      run: (_, warmUp) =>
        measured('rsyslog', warmUp, (topic, corpus) => {
          const dir = world.workDir('rsyslog');
          chownTree(dir, benchUser);
          return startRsyslogFileToKafka(rsyslog, { dir, logFile: world.logFile('rsyslog'), user: benchUser, brokers, topic, file: corpus.path });
        }, 10),
    });
  } else unavailable.push(unavailableRow('rsyslog imfile → omkafka', 'peer', 'rsyslog', 'not installed', `rsyslog with imfile and omkafka is not installed: ${installHint}`));
  const syslogNg = syslogNgTool();
  if (syslogNg) {
    plans.push({
      tool: 'syslog-ng file → kafka-c',
      role: 'peer',
      detail: `${syslogNg.version}; file() no-parse, log-iw-size 10000, log-fetch-limit 1000, acks=all, same librdkafka settings; run as nobody`,
      run: (_, warmUp) =>
        measured('syslog-ng', warmUp, (topic, corpus) => {
          const dir = world.workDir('syslog-ng');
          chownTree(dir, benchUser);
          return startSyslogNgFileToKafka(syslogNg, { dir, logFile: world.logFile('syslog-ng'), user: benchUser, brokers, topic, file: corpus.path });
        }, 10),
    });
  } else unavailable.push(unavailableRow('syslog-ng file → kafka-c', 'peer', 'syslog-ng', 'not installed', `syslog-ng with kafka-c is not installed: ${installHint}`));

  const filebeat = filebeatTool();
  if (filebeat) {
    plans.push({
      tool: 'Filebeat log → output.kafka',
      role: 'peer',
      detail: `${filebeat.version} (built from the Go module proxy); log input from the start, output.kafka required_acks -1, compression none, default queue and batching; run as nobody`,
      run: (_, warmUp) =>
        measured('filebeat', warmUp, (topic, corpus) => {
          return startFilebeatFileToKafka(filebeat, { dir: world.workDir('filebeat'), logFile: world.logFile('filebeat'), user: benchUser, brokers, topic, file: corpus.path });
        }, 10),
    });
  } else unavailable.push(unavailableRow('Filebeat log → output.kafka', 'peer', 'filebeat', 'not installed', `Filebeat is not built: ${installHint} (builds it from the Go module proxy)`));

  result.rows = [...(await interleaved(plans, world.sizes.runs, log)), ...unavailable];
  const row = (tool: string): ToolRow | undefined => result.rows.find((r) => r.tool === tool && r.status === 'ok');
  const ceiling = row('kcat -P');
  for (const backend of backends) {
    const tally = row(`tally ship (${backend})`);
    if (!tally) continue;
    if (ceiling) result.ratios.push(ratio(`ship (${backend}) / kcat`, tally, ceiling, (r) => r.eventsPerSecond, undefined, 'librdkafka from C: the ceiling'));
    for (const peer of ['rsyslog imfile → omkafka', 'syslog-ng file → kafka-c']) {
      const other = row(peer);
      const target = peer.startsWith('rsyslog') ? { text: '≥ 1 × rsyslog', threshold: 1 } : undefined;
      if (other) result.ratios.push(ratio(`ship (${backend}) / ${peer.split(' ')[0]}`, tally, other, (r) => r.eventsPerSecond, target));
    }
    const fb = row('Filebeat log → output.kafka');
    if (fb) {
      result.ratios.push(ratio(`ship (${backend}) / Filebeat`, tally, fb, (r) => r.eventsPerSecond, undefined, 'the tool a site would otherwise run'));
      result.ratios.push(ratio(`ship (${backend}) CPU per event / Filebeat`, tally, fb, (r) => r.cpuSecondsPerMillion, { text: '≤ 0.5 (2 × Filebeat\'s events per CPU-second)', threshold: 0.5, atMost: true }, 'CPU cost ratio: lower is better'));
      result.ratios.push(ratio(`ship (${backend}) peak RSS / Filebeat`, tally, fb, (r) => r.peakRssMB, { text: '≤ 1.25 × Filebeat', threshold: 1.25, atMost: true }));
    }
    const loop = row(`produce loop (${backend})`);
    if (loop) result.ratios.push(ratio(`ship (${backend}) / produce loop (${backend})`, tally, loop, (r) => r.eventsPerSecond, undefined, 'what the shipper keeps of its client\'s ceiling'));
    if (loop && ceiling) result.ratios.push(ratio(`produce loop (${backend}) / kcat`, loop, ceiling, (r) => r.eventsPerSecond, undefined, 'the JavaScript client against librdkafka in C'));
    if (ceiling) result.ratios.push(ratio(`ship (${backend}) CPU per event / kcat`, tally, ceiling, (r) => r.cpuSecondsPerMillion, undefined, 'CPU cost ratio: lower is better'));
  }

  if (ctx.profile) {
    for (const backend of backends) {
      const since = Date.now();
      try {
        await measured(`${backend}-profile`, false, tallyShip(backend, true));
        const file = newestProfile(path.join(world.dir, 'profiles'), `ship-${backend}`, since);
        if (file) result.profiles.push(summariseProfile(`tally ship (${backend})`, file));
      } catch (error) {
        log(`  profile of ship (${backend}) failed: ${(error as Error).message}`);
      }
    }
  }
  return result;
}
