import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus, Consumer, IncomingMessage } from '../bus/types.js';
import { isTallyError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { batchInHand, errorCode, metrics } from './metrics.js';

export interface ConsumerStageOptions {
  bus: Bus;
  log: Logger;
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  /**
   * Make a batch durable downstream (outputs and dead letters acknowledged). Resolving marks the
   * batch done, but for the messages it returns: those the stage holds (lines of an event not yet
   * complete) and marks done itself later with `consumer.done`. Throwing retries the same batch
   * with backoff, never committing past it.
   */
  handle: (messages: IncomingMessage[], consumer: Consumer) => Promise<void | ReadonlySet<IncomingMessage>>;
  maxBackoffMs?: number;
  /** the most messages in one `handle` call */
  maxBatchMessages?: number;
  /** offsets are committed by the stage's own transactions (ConsumerOptions.transactional) */
  transactional?: boolean;
}

export interface RunningStage {
  consumer: Consumer;
  /** stop consuming, finish the batch in hand, commit what is done, leave the group */
  stop(): Promise<void>;
}

/** The loop every Kafka-consuming stage shares: batches in order, retries with backoff, done only when durable. */
export async function startConsumerStage(options: ConsumerStageOptions): Promise<RunningStage> {
  const { bus, log } = options;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  let stopping = false;
  const group = { group: options.groupId };
  metrics.batches.inc(group, 0);
  metrics.batchMessages.inc(group, 0);
  const consumer = await bus.consumer({ groupId: options.groupId, topics: options.topics, fromBeginning: options.fromBeginning ?? true, ...(options.maxBatchMessages ? { maxBatchMessages: options.maxBatchMessages } : {}), ...(options.transactional ? { transactional: true } : {}) });
  consumer.on('error', (error) => {
    metrics.consumerErrors.inc({ ...group, code: errorCode(error) });
    log.warn({ err: error }, 'consumer error');
  });
  consumer.on('assigned', (partitions) => log.info({ partitions: partitions.length, groupId: options.groupId }, 'partitions assigned'));

  await consumer.run(async (messages) => {
    const startedAt = performance.now();
    const leave = batchInHand(options.groupId);
    let durable = false;
    try {
      let attempt = 0;
      while (!stopping) {
        try {
          const held = await options.handle(messages, consumer);
          for (const message of messages) if (!held?.has(message)) consumer.done(message);
          durable = true;
          return;
        } catch (error) {
          attempt += 1;
          metrics.batchRetries.inc({ ...group, code: errorCode(error) });
          const backoff = Math.min(maxBackoffMs, 200 * 2 ** Math.min(attempt, 10));
          const retriable = !isTallyError(error) || error.retriable;
          log[retriable ? 'warn' : 'error']({ err: error, attempt, backoffMs: backoff, batch: messages.length }, `batch not durable yet, retrying: ${messageOf(error)}`);
          await sleep(backoff);
        }
      }
    } finally {
      leave();
      if (durable) {
        metrics.batches.inc(group);
        metrics.batchMessages.inc(group, messages.length);
        metrics.batchDuration.observe(group, (performance.now() - startedAt) / 1000);
      }
    }
  });

  return {
    consumer,
    async stop() {
      stopping = true;
      await consumer.close({ commit: true });
    },
  };
}
