import kafkajs from 'kafkajs';
import { TallyError, messageOf } from '../errors.js';
import type { KafkaReplication } from './kafka-topology.js';

/**
 * Create the registry's kafkasql topics before Apicurio starts, with the local Kafka's replication:
 * Apicurio would pick min(3, brokers) itself, and passes a configured replication.factor on to Kafka
 * as a topic config, which Kafka refuses (seen with 3.3.3). One partition each (the journal is
 * replayed in order) and nothing ever deleted (Apicurio refuses to start on a topic that deletes).
 * Existing topics are left as they are.
 */
export async function ensureRegistryTopics(bootstrap: string, topics: string[], replication: KafkaReplication): Promise<void> {
  const client = new kafkajs.Kafka({ brokers: bootstrap.split(','), clientId: 'tally-registry-setup', logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 5 } });
  const admin = client.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: 1,
        replicationFactor: replication.replicationFactor,
        configEntries: [
          { name: 'cleanup.policy', value: 'delete' },
          { name: 'retention.ms', value: '-1' },
          { name: 'retention.bytes', value: '-1' },
          { name: 'min.insync.replicas', value: String(replication.minInsyncReplicas) },
        ],
      })),
    });
  } catch (error) {
    throw new TallyError('SERVICE_START', `could not create the Schema Registry's topics ${topics.join(', ')} on the local Kafka (${bootstrap}): ${messageOf(error)}`, { cause: error });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
