import type { Producer } from '../../../pipeline/bus/types.js';
import { deadLetterRecord, type DeadLetterInput } from '../../../pipeline/dlq.js';
import { messageOf } from '../../../pipeline/errors.js';
import { abortableSleep, retryBackoffMs, type RetryPolicy } from './backoff.js';

/**
 * Send the dead letters of what Elasticsearch refused until Kafka acknowledges them: the records
 * they stand for are not committed before. While stopping, the send error is thrown and they stay
 * uncommitted. `what` names the letters in the log ("archive documents Elasticsearch refused").
 */
export async function sendDeadLetters(producer: Producer, topic: (name: string) => string, letters: readonly DeadLetterInput[], what: string, retry: RetryPolicy): Promise<void> {
  const records = letters.map((letter) => deadLetterRecord(topic, letter));
  for (let attempt = 1; ; attempt += 1) {
    try {
      await producer.send(records);
      const reasons = [...new Set(letters.map((l) => l.reasons[0]?.rule ?? l.reasons[0]?.code))];
      retry.log.warn({ count: letters.length, reasons }, `${letters.length} ${what} went to ${[...new Set(records.map((r) => r.topic))].join(', ')}`);
      return;
    } catch (error) {
      if (retry.signal.aborted) throw error;
      const backoffMs = retryBackoffMs(attempt, retry.maxBackoffMs);
      retry.log.warn({ err: error, attempt, backoffMs, count: letters.length }, `Kafka did not acknowledge ${letters.length} dead letters yet (${messageOf(error)}); sending them again, nothing committed meanwhile`);
      await abortableSleep(backoffMs, retry.signal);
    }
  }
}
