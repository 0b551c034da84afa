import { setTimeout as sleep } from 'node:timers/promises';
import type * as Rd from 'node-rdkafka';
import { librdkafkaProducerSettings, nextOffsets, transformBatchMessages, Closers, type ClientLoop, type LoopMessage, type LoopRun } from './types.js';

/** node-rdkafka, or a module with its API (the native API of @confluentinc/kafka-javascript, a fork of it). */
export type NativeModule = Pick<typeof Rd, 'Producer' | 'KafkaConsumer' | 'CODES'>;

const call = (fn: (cb: (error: unknown) => void) => void): Promise<void> => new Promise((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));

async function connectedProducer(rd: NativeModule, brokers: string[], extra: Record<string, string | number | boolean>): Promise<Rd.Producer> {
  const producer = new rd.Producer({ 'metadata.broker.list': brokers.join(','), dr_cb: true, 'enable.idempotence': true, ...librdkafkaProducerSettings, ...extra } as Rd.ProducerGlobalConfig, { 'request.required.acks': -1 });
  await call((cb) => producer.connect({}, (error) => cb(error)));
  producer.setPollInterval(10);
  return producer;
}

async function connectedConsumer(rd: NativeModule, run: LoopRun, autoCommit: boolean): Promise<Rd.KafkaConsumer> {
  const consumer = new rd.KafkaConsumer({ 'metadata.broker.list': run.brokers.join(','), 'group.id': run.group, 'enable.auto.commit': autoCommit, 'isolation.level': 'read_committed' } as Rd.ConsumerGlobalConfig, { 'auto.offset.reset': 'earliest' });
  await call((cb) => consumer.connect({}, (error) => cb(error)));
  consumer.setDefaultConsumeTimeout(100);
  consumer.subscribe([run.topic]);
  return consumer;
}

const consumeBatch = (consumer: Rd.KafkaConsumer, size: number): Promise<Rd.Message[]> => new Promise((resolve, reject) => consumer.consume(size, (error, messages) => (error ? reject(error) : resolve(messages))));

/**
 * librdkafka through the callback API: produce() per message with delivery reports counted, consume(n)
 * in a loop, and per consumed batch begin/produce/sendOffsetsToTransaction/commit.
 */
export function nativeLoop(rd: NativeModule, name: string): ClientLoop {
  const closers = new Closers();
  return {
    detail: {
      produce: `${name} Producer.produce() per message, delivery reports (dr_cb), enable.idempotence, acks=all, linger.ms 5, batch.num.messages 10000`,
      consume: `${name} KafkaConsumer.consume(1000) in a loop, auto commit, read_committed`,
      transform: `${name} consume(${transformBatchMessages}) → beginTransaction, produce() each, sendOffsetsToTransaction, commitTransaction`,
    },
    async produce(run: LoopRun, messages: LoopMessage[]): Promise<void> {
      const producer = await connectedProducer(rd, run.brokers, {});
      closers.add(() => call((cb) => producer.disconnect((error) => cb(error))));
      let delivered = 0;
      let failed: unknown;
      const done = new Promise<void>((resolve, reject) => {
        producer.on('delivery-report', (error) => {
          if (error) failed ??= error;
          delivered += 1;
          if (failed) reject(failed);
          else if (delivered === messages.length) resolve();
        });
      });
      for (const m of messages) {
        for (;;) {
          try {
            producer.produce(run.topic, m.partition, m.value, m.key);
            break;
          } catch (error) {
            if ((error as { code?: number }).code !== rd.CODES.ERRORS.ERR__QUEUE_FULL) throw error;
            producer.poll();
            await sleep(2);
          }
        }
      }
      await done;
    },
    async consume(run: LoopRun): Promise<void> {
      const consumer = await connectedConsumer(rd, run, true);
      closers.add(() => call((cb) => consumer.disconnect((error) => cb(error))));
      let seen = 0;
      while (seen < run.count) {
        seen += (await consumeBatch(consumer, 1000)).length;
        run.progress(seen);
      }
    },
    async transform(run: LoopRun): Promise<void> {
      const consumer = await connectedConsumer(rd, run, false);
      const producer = await connectedProducer(rd, run.brokers, { 'transactional.id': `${run.group}-txn` });
      closers.add(() => call((cb) => producer.disconnect((error) => cb(error))), () => call((cb) => consumer.disconnect((error) => cb(error))));
      await call((cb) => producer.initTransactions(30_000, cb));
      let done = 0;
      while (done < run.count) {
        const batch = await consumeBatch(consumer, transformBatchMessages);
        if (batch.length === 0) continue;
        await call((cb) => producer.beginTransaction(cb));
        for (const m of batch) {
          for (;;) {
            try {
              producer.produce(run.outputTopic, m.partition, m.value ?? null, m.key ?? null);
              break;
            } catch (error) {
              if ((error as { code?: number }).code !== rd.CODES.ERRORS.ERR__QUEUE_FULL) throw error;
              producer.poll();
              await sleep(2);
            }
          }
        }
        const offsets = [...nextOffsets(batch)].map(([partition, offset]) => ({ topic: run.topic, partition, offset: Number(offset) }));
        await call((cb) => producer.sendOffsetsToTransaction(offsets, consumer, 30_000, cb));
        await call((cb) => producer.commitTransaction(30_000, cb));
        done += batch.length;
        run.progress(done);
      }
    },
    close: () => closers.closeAll(),
  };
}
