import type { LocalKafkaConfig } from '../config/types.js';

export const kafkaHost = '127.0.0.1';

/** One KRaft node of the local Kafka: its client port and, for a quorum voter, its controller port. */
export interface KafkaNode {
  nodeId: number;
  port: number;
  /** only quorum voters run a controller listener */
  controllerPort: number | undefined;
  voter: boolean;
}

export interface KafkaReplication {
  replicationFactor: number;
  minInsyncReplicas: number;
}

export const brokerCount = (config: LocalKafkaConfig): number => config.brokers ?? 1;

/**
 * Voters are nodes 1..v, v the largest odd number up to N (N = 1 or 2: node 1 alone). A quorum of v
 * needs a majority up, so an even count adds a node that must be up without surviving one more loss:
 * two voters would stop the cluster when either node stops, one voter only when node 1 stops.
 */
export function voterCount(brokers: number): number {
  return brokers % 2 === 1 ? brokers : brokers - 1;
}

/** Node n (1..N): client port `port + 2(n-1)`, controller port `controllerPort + 2(n-1)` for a voter. */
export function kafkaNodes(config: LocalKafkaConfig): KafkaNode[] {
  const brokers = brokerCount(config);
  const voters = voterCount(brokers);
  return Array.from({ length: brokers }, (_, i) => {
    const voter = i < voters;
    return { nodeId: i + 1, port: config.port + 2 * i, controllerPort: voter ? config.controllerPort + 2 * i : undefined, voter };
  });
}

/** The client addresses of every local node: the default `kafka.brokers`. */
export function localBootstrap(config: LocalKafkaConfig): string[] {
  return kafkaNodes(config).map((node) => `${kafkaHost}:${node.port}`);
}

/** Explicit values win; otherwise 1/1 for one broker, 2/1 for two, 3/2 for three or more. */
export function kafkaReplication(config: LocalKafkaConfig): KafkaReplication {
  const replicationFactor = config.replicationFactor ?? Math.min(brokerCount(config), 3);
  const minInsyncReplicas = config.minInsyncReplicas ?? Math.max(1, replicationFactor - 1);
  return { replicationFactor, minInsyncReplicas };
}
