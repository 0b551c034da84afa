import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { KafkaBackendName } from '../../pipeline/config/types.js';
import { clusterFaults, withAdmin } from './cluster-faults.js';
import { esNodeSigkill } from './es-cluster-faults.js';
import type { FaultPipeline, StageName } from './pipeline.js';

export interface FaultContext {
  pipeline: FaultPipeline;
  random: () => number;
  trial: number;
}

/** One kind of fault: inject it, restore, and say when the world was whole again (ms since the epoch). */
export interface Fault {
  id: string;
  description: string;
  /** the fault stops a service every pipeline of the world uses: it must run alone in its world */
  exclusive: boolean;
  /** the fault waits for these logical topics to grow after the burst: the stage that reads them then has work in hand */
  busyTopics?: string[];
  /** the world's Kafka: 1 broker (default) or a cluster of this many */
  kafkaBrokers?: number;
  /** the world's Elasticsearch: 1 node (default) or a cluster of this many, which the stages reach directly (no proxy) */
  esNodes?: number;
  /** the Kafka client backend of the fault's pipeline (default kafkajs) */
  backend?: KafkaBackendName;
  /** the pipeline's transform.exactlyOnce (default on) */
  exactlyOnce?: boolean;
  /** the pipeline's kafka.commitIntervalMs (default 200 ms) */
  commitIntervalMs?: number;
  /** how long a trial may take to recover before it counts as a stall (default 300 s) */
  recoveryTimeoutMs?: number;
  inject(context: FaultContext): Promise<{ restoredAt: number; note?: string; vacuous?: string }>;
}

export const esOutageMs = 60_000;

const inputOf: Record<StageName, string[] | undefined> = { ship: undefined, transform: ['raw.accounting'], 'sink-elasticsearch': ['accounting.usage'], 'sink-apel': ['cloud.vm'] };

function sigkill(stage: StageName): Fault {
  const busyTopics = inputOf[stage];
  return {
    id: `sigkill-${stage}`,
    description: `SIGKILL of tally ${stage.replace('-', ' ')} mid-batch (0-150 ms after new input reached it), then restart`,
    exclusive: false,
    ...(busyTopics ? { busyTopics } : {}),
    async inject({ pipeline }) {
      await pipeline.restart(stage, 'SIGKILL');
      return { restoredAt: Date.now() };
    },
  };
}

async function metric(port: number, name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  } catch {
    return 0;
  }
}

/** Until the consumer group is Stable with `members` members, each assigned partitions (or the timeout passed). */
async function groupStable(pipeline: FaultPipeline, groupId: string, members: number, timeoutMs: number): Promise<void> {
  const owns = (member: kafkajs.MemberDescription): boolean => Object.values(kafkajs.AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment ?? {}).some((partitions) => partitions.length > 0);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const group = await withAdmin(pipeline, async (admin) => (await admin.describeGroups([groupId])).groups[0]).catch(() => undefined);
    if (group?.state === 'Stable' && group.members.filter(owns).length >= members) return;
    await sleep(250);
  }
}

/** The world's one broker stopped (SIGTERM) or killed (SIGKILL) and started again on the same data while producers and consumers run. */
function brokerRestart(signal: 'SIGTERM' | 'SIGKILL'): Fault {
  return {
    id: signal === 'SIGTERM' ? 'kafka-broker-restart' : 'kafka-broker-sigkill',
    description: signal === 'SIGTERM' ? 'the Kafka broker stopped and started again (same data folder) while producers and consumers run' : 'the Kafka broker SIGKILLed and started again (same data folder) while producers and consumers run',
    exclusive: true,
    async inject({ pipeline }) {
      const stoppedAt = Date.now();
      if (signal === 'SIGTERM') await pipeline.services.stopKafka();
      else await pipeline.services.killKafka();
      await pipeline.services.startKafka();
      await pipeline.resetAdmin();
      return { restoredAt: Date.now(), note: `broker down ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s` };
    },
  };
}

export const faults: Fault[] = [
  sigkill('ship'),
  sigkill('transform'),
  sigkill('sink-elasticsearch'),
  sigkill('sink-apel'),
  {
    id: 'es-stopped-60s',
    description: `Elasticsearch stopped for ${esOutageMs / 1000} s while data flows, then started again (same data)`,
    exclusive: true,
    async inject({ pipeline }) {
      await pipeline.services.stopElasticsearch();
      await sleep(esOutageMs);
      await pipeline.services.startElasticsearch();
      return { restoredAt: Date.now() };
    },
  },
  {
    id: 'es-bulk-429-503',
    description: 'Elasticsearch (through a proxy) answering, for 4-10 s, 503 to a quarter of the _bulk requests and 429 es_rejected_execution_exception to a random half of the items of half of them (those items not forwarded)',
    exclusive: false,
    async inject({ pipeline, random }) {
      const before = { ...pipeline.proxy.stats };
      pipeline.proxy.setFaulty(true);
      await sleep(4000 + random() * 6000);
      pipeline.proxy.setFaulty(false);
      const s = pipeline.proxy.stats;
      return { restoredAt: Date.now(), note: `${s.whole503 - before.whole503} bulks answered 503, ${s.partial - before.partial} partially rejected (${s.itemsRejected - before.itemsRejected} items 429)` };
    },
  },
  brokerRestart('SIGTERM'),
  brokerRestart('SIGKILL'),
  {
    id: 'rebalance-second-transform',
    description: 'a second tally transform joins the group while batches are in flight, takes partitions and handles input written after it joined, then leaves (SIGTERM, or SIGKILL in every other trial)',
    exclusive: false,
    busyTopics: ['raw.accounting'],
    async inject({ pipeline, trial }) {
      // the rest of the trial's input waits until the group is stable with both transforms in it (not
      // merely until the second says it runs: the first could take the last burst before the rebalance),
      // so the second owns partitions that get input
      const release = pipeline.holdInput();
      let started: Awaited<ReturnType<FaultPipeline['startExtraTransform']>>;
      try {
        started = await pipeline.startExtraTransform();
        await groupStable(pipeline, pipeline.groups.transform, 2, 120_000);
      } finally {
        release();
      }
      const { process, opsPort } = started;
      const handled = await firstHandled(opsPort, 120_000, 250);
      const signal = trial % 2 === 1 ? 'SIGKILL' : 'SIGTERM';
      const code = await pipeline.kill(process, signal);
      return { restoredAt: Date.now(), note: `second transform handled ${handled} messages before ${signal}${signal === 'SIGTERM' ? ` (exit ${code})` : ''}`, ...(handled === 0 ? { vacuous: 'the second transform handled nothing' } : {}) };
    },
  },
];

/** A stage's count of handled messages once it is above zero (polled every everyMs), or 0 after timeoutMs. */
async function firstHandled(opsPort: number, timeoutMs: number, everyMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const handled = await metric(opsPort, 'tally_batch_messages_total');
    if (handled > 0 || Date.now() >= deadline) return handled;
    await sleep(everyMs);
  }
}

/**
 * The suite's negative control: the proxy silently swallows part of the documents while claiming
 * them indexed. A suite that reports no loss here could not see one anywhere.
 */
export const silentDropControl: Fault = {
  id: 'control-silent-drop',
  description: 'negative control: a proxy that answers 201 for bulk items it never forwarded',
  exclusive: false,
  recoveryTimeoutMs: 20_000,
  async inject({ pipeline }) {
    pipeline.proxy.setLying(true);
    await sleep(4000);
    pipeline.proxy.setLying(false);
    return { restoredAt: Date.now() };
  },
};

/**
 * The negative control of the domain-topic check: exactly-once off, the transform SIGKILLed three
 * times while it has work in hand. Work produced but not yet committed is produced again, so the
 * read-committed check must see doubles; a suite that sees none here could not see them anywhere.
 */
export const eosOffControl: Fault = {
  id: 'control-eos-off',
  description: 'negative control: transform.exactlyOnce off, the transform SIGKILLed three times mid-batch',
  exclusive: false,
  exactlyOnce: false,
  // no offset is committed before the kills (the first commit comes 30 s after the first batch): each kill
  // after a handled batch replays it. At 200 ms a kill could land when all was committed: no doubles in CI runs s4c and s6b
  commitIntervalMs: 30_000,
  busyTopics: ['raw.accounting'],
  async inject({ pipeline }) {
    const port = pipeline.opsPorts.get('transform');
    for (let kill = 0; kill < 3; kill++) {
      // each (restarted) transform has handled a batch before it is killed
      if (port !== undefined) await firstHandled(port, 60_000, 20);
      await pipeline.restart('transform', 'SIGKILL');
      await sleep(300);
    }
    return { restoredAt: Date.now() };
  },
};

export const controls: Fault[] = [silentDropControl, eosOffControl];

/** Faults of a three-broker Kafka cluster (each with both client backends) and of a two-node Elasticsearch cluster; they run in worlds of their own. */
export const clusterFaultList: Fault[] = [...clusterFaults('kafkajs'), ...clusterFaults('rdkafka'), esNodeSigkill];

export function faultById(id: string): Fault {
  const fault = [...faults, ...clusterFaultList, ...controls].find((f) => f.id === id);
  if (!fault) throw new Error(`no fault ${id}; known: ${[...faults, ...clusterFaultList].map((f) => f.id).join(', ')}`);
  return fault;
}
