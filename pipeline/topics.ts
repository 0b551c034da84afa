import type { Bus } from './bus/types.js';
import type { TopicsConfig } from './config/types.js';

/** The logical topics of one kind: where its raw events arrive and its rejects go. */
export const rawTopic = (kind: string): string => `raw.${kind}`;
export const deadLetterTopic = (kind: string): string => `dlq.${kind}`;

/** The kind a raw topic carries, or undefined when the topic is not a raw topic of this bus. */
export function kindOfRawTopic(bus: Bus, topic: string): string | undefined {
  const prefix = bus.topic('raw.');
  return topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined;
}

/** Create the logical topics that are missing, with the configured partitions and replication (an existing topic is left as it is). */
export async function ensureTopics(bus: Bus, config: TopicsConfig, logicalNames: Iterable<string>): Promise<void> {
  const configs = config.minInsyncReplicas === undefined ? {} : { configs: { 'min.insync.replicas': String(config.minInsyncReplicas) } };
  const admin = await bus.admin();
  try {
    await admin.createTopics([...new Set(logicalNames)].map((name) => ({ topic: bus.topic(name), partitions: config.partitions, replicationFactor: config.replicationFactor, ...configs })));
  } finally {
    await admin.close();
  }
}
