import { sendMessages } from './kafkajs.js';
import { transactionSendMessages, transformBatchMessages, Closers, type ClientLoop, type LoopMessage, type LoopRun } from './types.js';

/** The part of @platformatic/kafka 1.x the loops use (its types live in the bench cache, not here). */
interface Message {
  key: Buffer;
  value: Buffer;
  partition: number;
  offset: bigint;
}
interface Stream {
  on(event: 'data', listener: (message: Message) => void): Stream;
  on(event: 'error', listener: (error: Error) => void): Stream;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}
interface Consumer {
  consume(options: Record<string, unknown>): Promise<Stream>;
  close(force?: boolean): Promise<void>;
}
interface Transaction {
  send(options: { messages: (LoopMessage & { topic: string })[] }): Promise<unknown>;
  addConsumer(consumer: Consumer): Promise<void>;
  addOffset(message: Message): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}
interface Producer {
  send(options: { messages: (LoopMessage & { topic: string })[]; acks?: number }): Promise<unknown>;
  beginTransaction(): Promise<Transaction>;
  close(force?: boolean): Promise<void>;
}
export interface PlatformaticKafka {
  Producer: new (options: Record<string, unknown>) => Producer;
  Consumer: new (options: Record<string, unknown>) => Consumer;
  ProduceAcks: { ALL: number };
  FetchIsolationLevels: { READ_COMMITTED: number };
  MessagesStreamModes: { EARLIEST: string };
}

/**
 * One send at a time: with 2 or 3 concurrent send() calls on the idempotent producer, 1.35.0
 * acknowledged every send while 2,048 or 4,096 of 30,000 messages never reached the topic (seen here).
 */
const sendsInFlight = 1;

/**
 * A transaction begun right after the last one committed meets CONCURRENT_TRANSACTIONS until the
 * coordinator wrote its markers (milliseconds); with the default retryDelay of 1 s the loop did
 * 7-11k messages/s, with 20 ms (as Tally's kafkajs transactional producer) 42-57k (runs 202612071158ww, 202612071202ij).
 */
const transactionRetryDelayMs = 20;

export function platformaticLoop(api: PlatformaticKafka): ClientLoop {
  const closers = new Closers();
  const consumer = async (run: LoopRun, autocommit: boolean): Promise<{ consumer: Consumer; stream: Stream }> => {
    const c = new api.Consumer({ clientId: 'bench-clients', bootstrapBrokers: run.brokers, groupId: run.group, isolationLevel: api.FetchIsolationLevels.READ_COMMITTED, maxBytesPerPartition: 4 * 1024 * 1024 });
    closers.add(() => c.close(true));
    const stream = await c.consume({ topics: [run.topic], mode: api.MessagesStreamModes.EARLIEST, autocommit });
    return { consumer: c, stream };
  };
  return {
    detail: {
      produce: `producer.send() of ${sendMessages} messages, one in flight (concurrent sends lost messages), idempotent (maxInflights 1), acks ALL`,
      consume: 'consumer.consume() stream, mode earliest, autocommit, read_committed, maxBytesPerPartition 4 MiB; counted in on("data")',
      transform: `stream paused per batch (≤ ${transformBatchMessages}, or what arrived within 5 ms) → beginTransaction, send (${transactionSendMessages} per call), addConsumer, addOffset (last message of each partition), commit; retryDelay ${transactionRetryDelayMs} ms`,
    },
    async produce(run: LoopRun, messages: LoopMessage[]): Promise<void> {
      const producer = new api.Producer({ clientId: 'bench-clients', bootstrapBrokers: run.brokers, idempotent: true, acks: api.ProduceAcks.ALL, autocreateTopics: false });
      closers.add(() => producer.close(true));
      const all = messages.map((m) => ({ ...m, topic: run.topic }));
      let next = 0;
      const sender = async (): Promise<void> => {
        while (next < all.length) {
          const from = next;
          next = Math.min(all.length, next + sendMessages);
          await producer.send({ messages: all.slice(from, next) });
        }
      };
      await Promise.all(Array.from({ length: sendsInFlight }, () => sender()));
    },
    async consume(run: LoopRun): Promise<void> {
      const { stream } = await consumer(run, true);
      let seen = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.on('data', () => {
          seen += 1;
          if ((seen & 255) === 0 || seen >= run.count) run.progress(seen);
          if (seen >= run.count) resolve();
        });
      });
    },
    async transform(run: LoopRun): Promise<void> {
      const producer = new api.Producer({ clientId: 'bench-clients', bootstrapBrokers: run.brokers, idempotent: true, transactionalId: `${run.group}-txn`, acks: api.ProduceAcks.ALL, autocreateTopics: false, retryDelay: transactionRetryDelayMs });
      closers.add(() => producer.close(true));
      const { consumer: c, stream } = await consumer(run, false);
      let done = 0;
      let batch: Message[] = [];
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve, reject) => {
        const flush = async (): Promise<void> => {
          timer = undefined;
          const taken = batch;
          batch = [];
          stream.pause();
          const txn = await producer.beginTransaction();
          try {
            for (let i = 0; i < taken.length; i += transactionSendMessages) {
              await txn.send({ messages: taken.slice(i, i + transactionSendMessages).map((m) => ({ key: m.key, value: m.value, partition: m.partition, topic: run.outputTopic })) });
            }
            await txn.addConsumer(c);
            const last = new Map<number, Message>();
            for (const m of taken) last.set(m.partition, m);
            for (const m of last.values()) await txn.addOffset(m);
            await txn.commit();
          } catch (error) {
            await txn.abort().catch(() => undefined);
            throw error;
          }
          done += taken.length;
          run.progress(done);
          if (done >= run.count) resolve();
          else stream.resume();
        };
        const start = (): void => void flush().catch(reject);
        stream.on('error', reject);
        stream.on('data', (message) => {
          batch.push(message);
          if (batch.length >= transformBatchMessages) {
            if (timer) clearTimeout(timer);
            start();
          } else timer ??= setTimeout(start, 5);
        });
      });
    },
    close: () => closers.closeAll(),
  };
}
