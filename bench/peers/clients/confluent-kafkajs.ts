import { sendMessages } from './kafkajs.js';
import { librdkafkaProducerSettings, nextOffsets, transformBatchMessages, type ClientLoop, type LoopMessage, type LoopRun } from './types.js';

/** The part of @confluentinc/kafka-javascript's KafkaJS-compatible API the loops use (its types live in the bench cache, not here). */
interface Client {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}
interface Transaction {
  send(record: { topic: string; messages: { key: Buffer | null; value: Buffer | null; partition: number }[] }): Promise<unknown>;
  sendOffsets(args: { consumer: Consumer; topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}
interface Producer extends Client {
  send(record: { topic: string; messages: LoopMessage[] }): Promise<unknown>;
  transaction(): Promise<Transaction>;
}
interface Batch {
  topic: string;
  partition: number;
  messages: { key: Buffer | null; value: Buffer | null; offset: string }[];
}
interface Consumer extends Client {
  subscribe(args: { topics: string[] }): Promise<void>;
  run(args: { eachBatch: (payload: { batch: Batch }) => Promise<void> }): Promise<void>;
}
export interface ConfluentKafkaJS {
  Kafka: new (config: Record<string, unknown>) => { producer(config: Record<string, unknown>): Producer; consumer(config: Record<string, unknown>): Consumer };
  logLevel: { NOTHING: number };
}

/** Sends in flight at once: librdkafka keeps ordering with idempotence up to 5 requests in flight. */
const sendsInFlight = 4;

export function confluentKafkaJSLoop(api: ConfluentKafkaJS): ClientLoop {
  const closers: (() => Promise<void>)[] = [];
  const kafka = (brokers: string[]) => new api.Kafka({ kafkaJS: { brokers, clientId: 'bench-clients', logLevel: api.logLevel.NOTHING } });
  const consumer = async (run: LoopRun, autoCommit: boolean): Promise<Consumer> => {
    const c = kafka(run.brokers).consumer({ kafkaJS: { groupId: run.group, fromBeginning: true, autoCommit }, 'isolation.level': 'read_committed', 'js.consumer.max.batch.size': transformBatchMessages });
    closers.push(() => c.disconnect());
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
      closers.push(() => producer.disconnect());
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
      const producer = kafka(run.brokers).producer({ kafkaJS: { transactionalId: `${run.group}-txn`, idempotent: true, maxInFlightRequests: 1 }, ...librdkafkaProducerSettings });
      closers.push(() => producer.disconnect());
      await producer.connect();
      const c = await consumer(run, false);
      let done = 0;
      await new Promise<void>((resolve, reject) => {
        void c.run({
          eachBatch: async ({ batch }) => {
            const txn = await producer.transaction();
            try {
              await txn.send({ topic: run.outputTopic, messages: batch.messages.map((m) => ({ key: m.key, value: m.value, partition: batch.partition })) });
              const offsets = nextOffsets(batch.messages.map((m) => ({ partition: batch.partition, offset: m.offset })));
              await txn.sendOffsets({ consumer: c, topics: [{ topic: batch.topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: offset.toString() })) }] });
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
