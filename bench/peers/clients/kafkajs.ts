import kafkajs from 'kafkajs';
import { copyInTransaction, countBatches } from './each-batch.js';
import { transactionSendMessages, Closers, type ClientLoop, type LoopMessage, type LoopRun } from './types.js';

/** Messages per send: ship's batchMaxLines. */
export const sendMessages = 2048;

/** kafkajs 2.2.4 with the project's patch (patch-package), the settings of Tally's kafkajs backend. */
export function kafkajsLoop(): ClientLoop {
  const closers = new Closers();
  const client = (brokers: string[]): kafkajs.Kafka => new kafkajs.Kafka({ clientId: 'bench-clients', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = async (run: LoopRun): Promise<kafkajs.Consumer> => {
    const c = client(run.brokers).consumer({ groupId: run.group, readUncommitted: false, maxBytesPerPartition: 4 * 1024 * 1024 });
    closers.add(() => c.disconnect());
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
      closers.add(() => producer.disconnect());
      await producer.connect();
      for (let i = 0; i < messages.length; i += sendMessages) {
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic: run.topic, messages: messages.slice(i, i + sendMessages) }] });
      }
    },
    async consume(run: LoopRun): Promise<void> {
      const c = await consumer(run);
      await countBatches(run, (eachBatch) => void c.run({ eachBatch }));
    },
    async transform(run: LoopRun): Promise<void> {
      const producer = client(run.brokers).producer({ transactionalId: `${run.group}-txn`, idempotent: true, maxInFlightRequests: 1, retry: { retries: 10, initialRetryTime: 20 } });
      closers.add(() => producer.disconnect());
      await producer.connect();
      const c = await consumer(run);
      await countBatches(
        run,
        (eachBatch) => void c.run({ autoCommit: false, eachBatch }),
        async (batch) => {
          const txn = await producer.transaction();
          await copyInTransaction(run, batch, txn, transactionSendMessages, (topics) => txn.sendOffsets({ consumerGroupId: run.group, topics }));
        },
      );
    },
    close: () => closers.closeAll(),
  };
}
