import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { KafkaBackendName } from '../../pipeline/config/types.js';
import { quorumLeader } from '../../pipeline/services/kafka-status.js';
import type { Fault } from './faults.js';
import type { FaultPipeline } from './pipeline.js';

/** How long a killed or stopped broker stays down before it is started again. */
const downMs = 10_000;
const clusterSize = 3;

export async function withAdmin<T>(pipeline: FaultPipeline, work: (admin: kafkajs.Admin) => Promise<T>): Promise<T> {
  const admin = new kafkajs.Kafka({ brokers: pipeline.services.brokers.split(','), clientId: 'faults-cluster', logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

const busyTopics = (pipeline: FaultPipeline): string[] => ['raw.accounting', 'accounting.usage', 'cloud.vm'].map((t) => pipeline.bus.topic(t));

/** The node that leads most partitions of the topics the pipeline is busiest on. */
async function busiestLeader(pipeline: FaultPipeline): Promise<number> {
  const metadata = await withAdmin(pipeline, (admin) => admin.fetchTopicMetadata({ topics: busyTopics(pipeline) }));
  const led = new Map<number, number>();
  for (const topic of metadata.topics) for (const p of topic.partitions) if (p.leader >= 0) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
  return [...led].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 1;
}

/** Until every partition of the pipeline's topics has all its replicas in sync again (an operator's rolling restart waits for that). */
async function fullyReplicated(pipeline: FaultPipeline, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const metadata = await withAdmin(pipeline, (admin) => admin.fetchTopicMetadata({ topics: busyTopics(pipeline) }));
      if (metadata.topics.every((t) => t.partitions.every((p) => p.isr.length === p.replicas.length))) return;
    } catch {
      /* a broker is still coming back */
    }
    await sleep(500);
  }
}

/** The faults of a three-broker cluster (replication 3, min.insync.replicas 2), for one client backend. */
export function clusterFaults(backend: KafkaBackendName): Fault[] {
  const base = { exclusive: true, kafkaBrokers: clusterSize, backend } as const;
  return [
    {
      ...base,
      id: `cluster-leader-sigkill-${backend}`,
      description: `(${backend}) SIGKILL of the broker leading most of the busy partitions, mid-run, started again ${downMs / 1000} s later`,
      async inject({ pipeline }) {
        const node = await busiestLeader(pipeline);
        await pipeline.services.node.kill(node);
        await sleep(downMs);
        await pipeline.services.node.start(node);
        return { restoredAt: Date.now(), note: `node ${node} killed` };
      },
    },
    {
      ...base,
      id: `cluster-rolling-restart-${backend}`,
      description: `(${backend}) a rolling restart of all three brokers while data flows: each stopped (SIGTERM), down ${downMs / 1000} s, started, and fully replicated again before the next`,
      async inject({ pipeline }) {
        for (let node = 1; node <= clusterSize; node++) {
          await pipeline.services.node.stop(node);
          await sleep(downMs);
          await pipeline.services.node.start(node);
          await fullyReplicated(pipeline);
        }
        return { restoredAt: Date.now() };
      },
    },
    {
      ...base,
      id: `cluster-controller-sigkill-${backend}`,
      description: `(${backend}) SIGKILL of the active KRaft controller (a combined broker/controller node), started again ${downMs / 1000} s later`,
      async inject({ pipeline }) {
        const node = quorumLeader(pipeline.services.kafka.nodes ?? []) ?? 1;
        await pipeline.services.node.kill(node);
        await sleep(downMs);
        await pipeline.services.node.start(node);
        return { restoredAt: Date.now(), note: `controller node ${node} killed` };
      },
    },
    {
      ...base,
      id: `cluster-broker-sigstop-${backend}`,
      description: `(${backend}) the broker leading most of the busy partitions frozen with SIGSTOP for 30 s (it keeps its connections open), then SIGCONT`,
      async inject({ pipeline }) {
        const node = await busiestLeader(pipeline);
        pipeline.services.node.pause(node);
        await sleep(30_000);
        pipeline.services.node.resume(node);
        return { restoredAt: Date.now(), note: `node ${node} frozen` };
      },
    },
  ];
}
