import os from 'node:os';
import { execFileSync } from 'node:child_process';
import type { CaseContext } from '../context.js';
import { afterRunGraceMs, startChild, type MeasuredChild } from '../child.js';
import { fillTopic, rawEnvelopes } from '../fill.js';
import { untilComplete } from '../measure.js';
import { benchClients, cachedState, installClientsScript, installSeconds, type BenchClient } from '../peers/clients/index.js';
import { transformBatchMessages } from '../peers/clients/types.js';
import { emptyCase, fromThroughput, interleaved, ratio, unavailableRow, type CaseResult, type RunFigures, type ToolPlan, type ToolRow } from '../results.js';
import { benchScript, nodeOptions } from '../tally-stage.js';
import type { BenchWorld } from '../world.js';

type Mode = 'produce' | 'consume' | 'transform';
const modes: readonly Mode[] = ['produce', 'consume', 'transform'];
const modeTitle: Record<Mode, string> = { produce: 'produce', consume: 'consume', transform: 'consume-transform-produce (EOS)' };

/** Topic creation on the busy shared broker now and then answers UNKNOWN_TOPIC_OR_PARTITION while waiting for leaders: tried three times. */
async function createTopicRetried(world: BenchWorld, topic: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await world.kafka.createTopics([topic], world.sizes.partitions);
      return;
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

/** The last `progress <n>` line a client loop printed. */
function progressOf(child: MeasuredChild): number {
  const text = child.output();
  const at = text.lastIndexOf('progress ');
  return at < 0 ? 0 : Number.parseInt(text.slice(at + 9), 10) || 0;
}

/** Installs the cached clients that are missing (bench/install-clients.sh), unless TALLY_BENCH_INSTALL_PEERS=0. */
function installMissingClients(log: (line: string) => void): void {
  const missing = [...new Set(benchClients.flatMap((c) => (c.cached && !cachedState(c.cached).installed ? [c.cached.install] : [])))];
  if (missing.length === 0 || process.env.TALLY_BENCH_INSTALL_PEERS === '0') return;
  log(`  clients not installed: ${missing.join(', ')}; running bash bench/install-clients.sh (TALLY_BENCH_INSTALL_PEERS=0 skips this)`);
  try {
    execFileSync('bash', [installClientsScript, ...missing], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    log('  bench/install-clients.sh failed for some client; its rows say why');
  }
}

/**
 * The Kafka clients themselves, outside Tally: each client's own loop (peers/clients/) in its own
 * process on the same broker and the same ship envelopes of accounting lines. produce: a fresh
 * topic, acks=all, idempotent, done when the end offsets hold every message; consume: a fresh group
 * reads the filled input from its start (read_committed); transform: the same read, every batch
 * copied to a fresh topic in one transaction with its offsets. Clients run in turn in every round.
 */
export async function clientsCase(ctx: CaseContext): Promise<CaseResult> {
  const { world, log } = ctx;
  const n = world.sizes.clientMessages;
  const file = ctx.corpora.accountingFile(n);
  const result = emptyCase('clients', 'Kafka clients: produce, consume, transactional consume-transform-produce', `${n.toLocaleString('en')} ship envelopes of accounting lines (${file.meanLineBytes.toFixed(0)} B mean line), keys host:path, partitions round-robin over ${world.sizes.partitions}`);
  installMissingClients(log);
  const loadAtStart = os.loadavg();
  const brokers = world.config.kafka.brokers.join(',');

  const inputPrefix = world.topicPrefix('clients-input');
  const input = `${inputPrefix}raw.accounting`;
  const envelopes = rawEnvelopes(input, 'accounting', ctx.corpora.accounting(n), { partitions: world.sizes.partitions });
  const meanEnvelope = envelopes.reduce((s, r) => s + Buffer.byteLength(r.value as string), 0) / envelopes.length;
  await world.kafka.createTopics([input], world.sizes.partitions);
  await fillTopic(world, envelopes);
  log(`  filled ${input} with ${n.toLocaleString('en')} envelopes (${meanEnvelope.toFixed(0)} B mean)`);

  const loop = (client: BenchClient, mode: Mode, args: string[]): MeasuredChild =>
    startChild(`clients-${client.id}-${mode}`, process.execPath, [...nodeOptions, benchScript('client-loop'), client.id, mode, brokers, ...args], { logFile: world.logFile(`clients-${client.id}-${mode}`), readyText: /^bench client-loop ready/m, readyTimeoutMs: 120_000 });

  const runOnce = async (client: BenchClient, mode: Mode): Promise<RunFigures> => {
    const prefix = world.topicPrefix(`clients-${client.id}-${mode}`);
    const output = `${prefix}out`;
    await createTopicRetried(world, output);
    const group = world.group(`clients-${client.id}-${mode}`);
    const child = mode === 'produce' ? loop(client, mode, [output, String(world.sizes.partitions), file.path]) : loop(client, mode, [input, String(n), group, output]);
    try {
      await child.ready();
      const atReady = child.sample()?.rssBytes ?? Number.NaN;
      const count = mode === 'produce' ? () => world.kafka.endOffsets(output) : async () => progressOf(child);
      const t = await untilComplete({ count, target: n, processes: [child], intervalMs: 20 });
      const figures = fromThroughput(t, meanEnvelope);
      const rssMB = (bytes: number | undefined): number => (bytes ?? Number.NaN) / 2 ** 20;
      // produce holds its messages (built before the clock) from the ready line on: RSS at ready is that base
      return { ...figures, extra: { 'CPU s per 100k': figures.cpuSecondsPerMillion / 10, 'RSS MB at ready': rssMB(atReady), 'RSS MB at end': rssMB(Object.values(t.rssBytes)[0]) } };
    } finally {
      await child.stop(afterRunGraceMs);
      await world.kafka.deletePrefixes([prefix], [group]);
    }
  };

  const plans: ToolPlan[] = [];
  const unavailable: ToolRow[] = [];
  for (const mode of modes) {
    for (const client of benchClients) {
      const tool = `${client.label}: ${modeTitle[mode]}`;
      const state = client.cached ? cachedState(client.cached) : ({ installed: true } as const);
      if (!state.installed) {
        unavailable.push(unavailableRow(tool, 'peer', client.label, /failed/.test(state.reason) ? 'not built' : 'not installed', state.reason));
        continue;
      }
      let detail = client.id;
      try {
        detail = (await client.load()).detail[mode];
      } catch (error) {
        unavailable.push(unavailableRow(tool, 'peer', client.label, 'failed', `does not load: ${(error as Error).message}`));
        continue;
      }
      plans.push({ tool, role: client.id === 'kafkajs' ? 'tally' : 'peer', detail, run: () => runOnce(client, mode) });
    }
  }
  result.rows = [...(await interleaved(plans, world.sizes.runs, log)), ...unavailable];

  const row = (client: BenchClient, mode: Mode): ToolRow | undefined => result.rows.find((r) => r.tool === `${client.label}: ${modeTitle[mode]}` && r.status === 'ok');
  const [baseline] = benchClients;
  for (const mode of modes) {
    const base = baseline && row(baseline, mode);
    if (!base) continue;
    for (const client of benchClients.slice(1)) {
      const other = row(client, mode);
      if (!other) continue;
      result.ratios.push(ratio(`${client.id} / kafkajs, ${mode} messages/s`, other, base, (r) => r.eventsPerSecond));
      result.ratios.push(ratio(`${client.id} / kafkajs, ${mode} CPU per message`, other, base, (r) => r.cpuSecondsPerMillion, undefined, 'lower is better'));
    }
  }
  await world.kafka.deletePrefixes([inputPrefix]);
  for (const pkg of new Set(benchClients.flatMap((c) => (c.cached ? [c.cached] : [])))) {
    const seconds = installSeconds(pkg);
    if (seconds !== undefined) result.findings.push(`${pkg.name} ${pkg.version}: installed by bench/install-clients.sh in ${seconds} s${pkg.install === 'confluent' ? ' (the native build from source, under nice -n 19)' : ''}.`);
  }
  const load = (l: number[]): string => l.map((v) => v.toFixed(1)).join(' / ');
  result.findings.push(`Load average (1 / 5 / 15 min) on ${os.cpus().length} cores: ${load(loadAtStart)} when the case started, ${load(os.loadavg())} when it ended.`);
  result.findings.push(`Transactions: at most ${transformBatchMessages} messages each (the transform's maxBatchMessages), or what one fetch or poll returned; the input topic was filled by rdkafka before the clock (not transactional).`);
  return result;
}
