import type { Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../errors.js';
import { toKafkaError } from './kafka-errors.js';
import type { Admin, PartitionOffsets, TopicSpec } from './types.js';

/**
 * A loaded broker answers metadata it is still settling (a topic just created, a leader being
 * elected) with UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER: ask again, a few times.
 */
async function again<T>(action: string, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      const failure = toKafkaError(action, error);
      if (attempt >= 5 || !failure.retriable) throw failure;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

const createTopicsPatienceMs = 60_000;

/** Topic and offset administration; the same for both backends (it is not on the hot path). */
export async function kafkajsAdmin(client: Kafka): Promise<Admin> {
  const admin = client.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw toKafkaError('connecting the admin client', error);
  }
  const create = async (missing: TopicSpec[]): Promise<void> => {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions ?? 1,
          replicationFactor: t.replicationFactor ?? -1,
          configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (error) {
      // another process created them first
      if (!String((error as Error).message).includes('already exists')) throw error;
    }
  };
  const leadersElected = async (names: string[]): Promise<boolean> => {
    const metadata = await admin.fetchTopicMetadata({ topics: names });
    return metadata.topics.length === names.length && metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
  };
  return {
    async createTopics(topics: TopicSpec[]): Promise<void> {
      // a broker busy creating other processes' topics may answer UNKNOWN_TOPIC_OR_PARTITION while
      // it elects the new partitions' leaders: a retriable moment, not a reason to fail the stage
      const deadline = Date.now() + createTopicsPatienceMs;
      for (let attempt = 0; ; attempt += 1) {
        try {
          const existing = new Set(await admin.listTopics());
          const missing = topics.filter((t) => !existing.has(t.topic));
          if (missing.length > 0) await create(missing);
          if (await leadersElected(topics.map((t) => t.topic))) return;
          if (Date.now() > deadline) throw new TallyError('KAFKA_RETRIABLE', `creating topics ${topics.map((t) => t.topic).join(', ')}: partitions still without a leader after ${createTopicsPatienceMs / 1000} s`);
        } catch (error) {
          const failure = toKafkaError(`creating topics ${topics.map((t) => t.topic).join(', ')}`, error);
          if (!failure.retriable || Date.now() > deadline) throw failure;
        }
        await sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    },
    async deleteTopics(topics: string[]): Promise<void> {
      if (topics.length) await admin.deleteTopics({ topics }).catch((error: unknown) => { throw toKafkaError(`deleting topics ${topics.join(', ')}`, error); });
    },
    listTopics: () => admin.listTopics(),
    async partitionCount(topic: string): Promise<number> {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      return metadata.topics[0]?.partitions.length ?? 0;
    },
    async groupOffsets(groupId: string, topic: string): Promise<PartitionOffsets[]> {
      const [ends, committed] = await again(`reading the offsets of ${topic} for group ${groupId}`, () => Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]));
      const committedByPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, p.offset]));
      return ends
        .map((end) => {
          const done = committedByPartition.get(end.partition) ?? '-1';
          const start = Number(done) >= 0 ? Number(done) : Number(end.low);
          return { partition: end.partition, committed: done, end: end.high, lag: Math.max(0, Number(end.high) - start) };
        })
        .sort((a, b) => a.partition - b.partition);
    },
    close: () => admin.disconnect(),
  };
}
