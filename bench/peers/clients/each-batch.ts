import { nextOffsets, type LoopRun } from './types.js';

/** A batch as kafkajs and confluent's KafkaJS API hand it to `eachBatch`. */
export interface EachBatch {
  topic: string;
  partition: number;
  messages: { key: Buffer | null; value: Buffer | null; offset: string }[];
}

export type EachBatchHandler = (payload: { batch: EachBatch }) => Promise<void>;

/** The transaction of kafkajs and of confluent's KafkaJS API, less sendOffsets (their arguments differ). */
export interface KafkaJSTransaction {
  send(record: { topic: string; messages: { key: Buffer | null; value: Buffer | null; partition: number }[] }): Promise<unknown>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export type PartitionOffsets = { topic: string; partitions: { partition: number; offset: string }[] }[];

/**
 * Starts `eachBatch` (through `start`) and resolves once `run.count` messages went through `handle`
 * (nothing to do for a consume loop, a transaction for the transform); rejects when `handle` fails.
 */
export function countBatches(run: LoopRun, start: (eachBatch: EachBatchHandler) => void, handle: (batch: EachBatch) => Promise<void> = async () => undefined): Promise<void> {
  let done = 0;
  return new Promise<void>((resolve, reject) => {
    start(async ({ batch }) => {
      try {
        await handle(batch);
      } catch (error) {
        reject(error);
        throw error;
      }
      done += batch.messages.length;
      run.progress(done);
      if (done >= run.count) resolve();
    });
  });
}

/** One batch copied to `run.outputTopic` in one transaction with its offsets, sent in slices of `sliceMessages`. */
export async function copyInTransaction(run: LoopRun, batch: EachBatch, txn: KafkaJSTransaction, sliceMessages: number, sendOffsets: (topics: PartitionOffsets) => Promise<void>): Promise<void> {
  try {
    for (let i = 0; i < batch.messages.length; i += sliceMessages) {
      await txn.send({ topic: run.outputTopic, messages: batch.messages.slice(i, i + sliceMessages).map((m) => ({ key: m.key, value: m.value, partition: batch.partition })) });
    }
    const offsets = nextOffsets(batch.messages.map((m) => ({ partition: batch.partition, offset: m.offset })));
    await sendOffsets([{ topic: batch.topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: offset.toString() })) }]);
    await txn.commit();
  } catch (error) {
    await txn.abort().catch(() => undefined);
    throw error;
  }
}
