import { esNodes } from '../services/elasticsearch-topology.js';
import { brokerCount, kafkaNodes, kafkaReplication } from '../services/kafka-topology.js';
import type { TallyConfig } from './types.js';

/** Rules that join several keys, which the JSON schema cannot say; each reason names the key to change. */
export function crossKeyProblems(config: TallyConfig): string[] {
  return [...localKafkaProblems(config), ...localPortProblems(config), ...topicProblems(config)];
}

function localKafkaProblems(config: TallyConfig): string[] {
  const kafka = config.services.kafka;
  const brokers = brokerCount(kafka);
  const problems: string[] = [];
  if (kafka.replicationFactor !== undefined && kafka.replicationFactor > brokers) {
    problems.push(`services.kafka.replicationFactor: ${kafka.replicationFactor} is more than services.kafka.brokers (${brokers}); a partition cannot have more replicas than there are brokers (rule: replicationFactor <= brokers)`);
  }
  const { replicationFactor, minInsyncReplicas } = kafkaReplication(kafka);
  if (minInsyncReplicas > replicationFactor) {
    problems.push(`services.kafka.minInsyncReplicas: ${minInsyncReplicas} is more than the replication factor (${replicationFactor}); no acks=all write could ever succeed (rule: minInsyncReplicas <= replicationFactor)`);
  }
  return problems;
}

/** Every node of the local Kafka and Elasticsearch, and the local registry, on ports of its own. */
function localPortProblems(config: TallyConfig): string[] {
  const { kafka, elasticsearch: es, registry } = config.services;
  const problems: string[] = [];
  const ports: [number | undefined, string][] = [
    [registry.port, 'services.registry.port'],
    [registry.managementPort, 'services.registry.managementPort'],
    ...esNodes(es).flatMap((node): [number, string][] => [
      [node.httpPort, `services.elasticsearch.httpPort (node ${node.nodeId}: httpPort + ${node.httpPort - es.httpPort})`],
      [node.transportPort, `services.elasticsearch.transportPort (node ${node.nodeId}: transportPort + ${node.transportPort - es.transportPort})`],
    ]),
    ...kafkaNodes(kafka).flatMap((node): [number | undefined, string][] => [
      [node.port, `services.kafka.port (node ${node.nodeId}: port + ${node.port - kafka.port})`],
      [node.controllerPort, `services.kafka.controllerPort (node ${node.nodeId}: controllerPort + ${(node.controllerPort ?? 0) - kafka.controllerPort})`],
    ]),
  ];
  const taken = new Map<number, string>();
  for (const [port, key] of ports) {
    if (port === undefined) continue;
    const other = taken.get(port);
    if (port > 65535) problems.push(`${key}: port ${port} is above 65535; lower the base port or the node count (rule: port range)`);
    else if (other) problems.push(`${key}: port ${port} is also ${other}; every local service needs ports of its own, and node n of Kafka or Elasticsearch uses its base ports + 2(n-1), so choose bases whose ranges do not meet (rule: distinct ports)`);
    else taken.set(port, key);
  }
  return problems;
}

function topicProblems(config: TallyConfig): string[] {
  const { replicationFactor, minInsyncReplicas } = config.topics;
  if (minInsyncReplicas !== undefined && replicationFactor !== -1 && minInsyncReplicas > replicationFactor) {
    return [`topics.minInsyncReplicas: ${minInsyncReplicas} is more than topics.replicationFactor (${replicationFactor}); no acks=all write could ever succeed (rule: minInsyncReplicas <= replicationFactor)`];
  }
  return [];
}
