import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { KafkaClusterView } from './kafka-ready.js';
import { isAlive } from './process.js';
import type { KafkaNodeState, KafkaState } from './state.js';

export interface KafkaBrokerStatus {
  nodeId: number;
  endpoint: string;
  /** voters only */
  controllerPort?: number;
  voter: boolean;
  /** the KRaft quorum leader, as the running voters last recorded it */
  activeController: boolean;
  pid: number;
  /** the process runs and the cluster lists the node as a registered broker */
  up: boolean;
}

/**
 * The quorum leader from the voters' own record (`__cluster_metadata-0/quorum-state` in their data
 * folders; the highest epoch wins). Metadata's controller id cannot say it: under KRaft brokers
 * answer with any live broker there.
 */
export function quorumLeader(nodes: KafkaNodeState[]): number | undefined {
  let best: { leaderId: number; leaderEpoch: number } | undefined;
  for (const node of nodes.filter((n) => n.voter && isAlive(n))) {
    try {
      const record = JSON.parse(readFileSync(path.join(node.dataDir, '__cluster_metadata-0', 'quorum-state'), 'utf8')) as { leaderId?: number; leaderEpoch?: number };
      if (typeof record.leaderId === 'number' && record.leaderId >= 0 && typeof record.leaderEpoch === 'number' && (!best || record.leaderEpoch > best.leaderEpoch)) {
        best = { leaderId: record.leaderId, leaderEpoch: record.leaderEpoch };
      }
    } catch {
      /* not written yet, or being replaced */
    }
  }
  return best?.leaderId;
}

/** Every node of the local Kafka (one for a single broker), joined with what the cluster reports. */
export function kafkaBrokerStatuses(state: KafkaState, view: KafkaClusterView | undefined): KafkaBrokerStatus[] {
  const nodes: KafkaNodeState[] = state.nodes ?? [
    { pid: state.pid, startTicks: state.startTicks, nodeId: 1, endpoint: state.bootstrap, port: state.port, controllerPort: state.controllerPort, voter: true, dataDir: state.dataDir, configFile: state.configFile, logFile: state.logFile, startedAt: state.startedAt },
  ];
  const leader = quorumLeader(nodes);
  return nodes.map((node) => ({
    nodeId: node.nodeId,
    endpoint: node.endpoint,
    ...(node.controllerPort === undefined ? {} : { controllerPort: node.controllerPort }),
    voter: node.voter,
    activeController: leader === node.nodeId,
    pid: node.pid,
    up: isAlive(node) && (view?.brokerIds.includes(node.nodeId) ?? false),
  }));
}
