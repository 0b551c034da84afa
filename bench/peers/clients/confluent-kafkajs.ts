import { sendMessages } from './kafkajs.js';
import { copyInTransaction, countBatches, type EachBatchHandler, type KafkaJSTransaction, type PartitionOffsets } from './each-batch.js';
import { librdkafkaProducerSettings, transformBatchMessages, Closers, type ClientLoop, type LoopMessage, type LoopRun } from './types.js';

/** The part of @confluentinc/kafka-javascript's KafkaJS-compatible API the loops use (its types live in the bench cache, not here). */
interface Client {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}
interface Transaction extends KafkaJSTransaction {
  sendOffsets(args: { consumer: Consumer; topics: PartitionOffsets }): Promise<void>;
}
interface Producer extends Client {
  send(record: { topic: string; messages: LoopMessage[] }): Promise<unknown>;
  transaction(): Promise<Transaction>;
}
interface Consumer extends Client {
  subscribe(args: { topics: string[] }): Promise<void>;
  run(args: { eachBatch: EachBatchHandler }): Promise<void>;
}
export interface ConfluentKafkaJS {
  Kafka: new (config: Record<string, unknown>) => { producer(config: Record<string, unknown>): Producer; consumer(config: Record<string, unknown>): Consumer };
  logLevel: { NOTHING: number };
}

/** Sends in flight at once: librdkafka keeps ordering with idempotence up to 5 requests in flight. */
const sendsInFlight = 4;

export function confluentKafkaJSLoop(api: ConfluentKafkaJS): ClientLoop {
  const closers = new Closers();
  const kafka = (brokers: string[]) => new api.Kafka({ kafkaJS: { brokers, clientId: 'bench-clients', logLevel: api.logLevel.NOTHING } });
  const consumer = async (run: LoopRun, autoCommit: boolean): Promise<Consumer> => {
    const c = kafka(run.brokers).consumer({ kafkaJS: { groupId: run.group, fromBeginning: true, autoCommit }, 'isolation.level': 'read_committed', 'js.consumer.max.batch.size': transformBatchMessages });
    closers.add(() => c.disconnect());
    await c.connect();
    await c.subscribe({ topics: [run.topic] });
    return c;
  };
  return {
    detail: {
      produce: `KafkaJS API producer.send() of ${sendMessages} messages, ${sendsInFlight} in flight, kafkaJS { idempotent, acks -1 }, linger.ms 5, batch.num.messages 10000`,
      consume: `KafkaJS API consumer.run({ eachBatch }), js.consumer.max.batch.size ${transformBatchMessages}, auto commit, read_committed`,
      transform: 'KafkaJS API eachBatch → producer.transaction(), send, sendOffsets({ consumer }), commit; autoCommit off',
    },
    async produce(run: LoopRun, messages: LoopMessage[]): Promise<void> {
      const producer = kafka(run.brokers).producer({ kafkaJS: { idempotent: true, acks: -1 }, ...librdkafkaProducerSettings });
      closers.add(() => producer.disconnect());
      await producer.connect();
      let next = 0;
      const sender = async (): Promise<void> => {
        while (next < messages.length) {
          const from = next;
          next = Math.min(messages.length, next + sendMessages);
          await producer.send({ topic: run.topic, messages: messages.slice(from, next) });
        }
      };
      await Promise.all(Array.from({ length: sendsInFlight }, () => sender()));
    },
    async consume(run: LoopRun): Promise<void> {
      const c = await consumer(run, true);
      await countBatches(run, (eachBatch) => void c.run({ eachBatch }));
    },
    async transform(run: LoopRun): Promise<void> {
      const producer = kafka(run.brokers).producer({ kafkaJS: { transactionalId: `${run.group}-txn`, idempotent: true, maxInFlightRequests: 1 }, ...librdkafkaProducerSettings });
      closers.add(() => producer.disconnect());
      await producer.connect();
      const c = await consumer(run, false);
      // one send per batch: librdkafka splits it into requests itself
      await countBatches(
        run,
        (eachBatch) => void c.run({ eachBatch }),
        async (batch) => {
          const txn = await producer.transaction();
          await copyInTransaction(run, batch, txn, Number.POSITIVE_INFINITY, (topics) => txn.sendOffsets({ consumer: c, topics }));
        },
      );
    },
    close: () => closers.closeAll(),
  };
}
