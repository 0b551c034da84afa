import kafkajs from 'kafkajs';
import { nextOffsets, transactionSendMessages, type ClientLoop, type LoopMessage, type LoopRun } from './types.js';

/** Messages per send: ship's batchMaxLines. */
export const sendMessages = 2048;

/** kafkajs 2.2.4 with the project's patch (patch-package), the settings of Tally's kafkajs backend. */
export function kafkajsLoop(): ClientLoop {
  const closers: (() => Promise<void>)[] = [];
  const client = (brokers: string[]): kafkajs.Kafka => new kafkajs.Kafka({ clientId: 'bench-clients', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = async (run: LoopRun): Promise<kafkajs.Consumer> => {
    const c = client(run.brokers).consumer({ groupId: run.group, readUncommitted: false, maxBytesPerPartition: 4 * 1024 * 1024 });
    closers.push(() => c.disconnect());
    await c.connect();
    await c.subscribe({ topics: [run.topic], fromBeginning: true });
    return c;
  };
  return {
    detail: {
      produce: `producer.sendBatch() of ${sendMessages} messages, one in flight (idempotent: maxInFlightRequests 1), acks -1`,
      consume: 'consumer.run({ eachBatch }), auto commit, maxBytesPerPartition 4 MiB, read_committed',
      transform: 'eachBatch → producer.transaction(), send, sendOffsets({ consumerGroupId }), commit; autoCommit off',
    },
    async produce(run: LoopRun, messages: LoopMessage[]): Promise<void> {
      const producer = client(run.brokers).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      closers.push(() => producer.disconnect());
      await producer.connect();
      for (let i = 0; i < messages.length; i += sendMessages) {
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic: run.topic, messages: messages.slice(i, i + sendMessages) }] });
      }
    },
    async consume(run: LoopRun): Promise<void> {
      const c = await consumer(run);
      let seen = 0;
      await new Promise<void>((resolve) => {
        void c.run({
          eachBatch: async ({ batch }) => {
            seen += batch.messages.length;
            run.progress(seen);
            if (seen >= run.count) resolve();
          },
        });
      });
    },
    async transform(run: LoopRun): Promise<void> {
      const producer = client(run.brokers).producer({ transactionalId: `${run.group}-txn`, idempotent: true, maxInFlightRequests: 1, retry: { retries: 10, initialRetryTime: 20 } });
      closers.push(() => producer.disconnect());
      await producer.connect();
      const c = await consumer(run);
      let done = 0;
      await new Promise<void>((resolve, reject) => {
        void c.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const txn = await producer.transaction();
            try {
              for (let i = 0; i < batch.messages.length; i += transactionSendMessages) {
                await txn.send({ topic: run.outputTopic, acks: -1, messages: batch.messages.slice(i, i + transactionSendMessages).map((m) => ({ key: m.key, value: m.value, partition: batch.partition })) });
              }
              const offsets = nextOffsets(batch.messages.map((m) => ({ partition: batch.partition, offset: m.offset })));
              await txn.sendOffsets({ consumerGroupId: run.group, topics: [{ topic: batch.topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: offset.toString() })) }] });
              await txn.commit();
            } catch (error) {
              await txn.abort().catch(() => undefined);
              reject(error);
              throw error;
            }
            done += batch.messages.length;
            run.progress(done);
            if (done >= run.count) resolve();
          },
        });
      });
    },
    async close(): Promise<void> {
      for (const close of closers.splice(0)) await close().catch(() => undefined);
    },
  };
}
