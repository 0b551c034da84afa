import { createBus } from '../pipeline/bus/index.js';
import type { OutgoingRecord, Producer } from '../pipeline/bus/types.js';
import { loadConfig } from '../pipeline/config/load.js';
import { createLogger } from '../pipeline/log.js';
import { LineRecordTemplate, type RecordContext } from '../connectors/sources/file-tail/records.js';
import type { BenchWorld } from './world.js';

/** The input of a Kafka-consuming case, produced before the measurement starts (rdkafka, acks=all). */
export async function fillTopic(world: BenchWorld, records: OutgoingRecord[]): Promise<void> {
  const config = loadConfig({ sets: [`kafka.brokers=${JSON.stringify(world.config.kafka.brokers)}`, 'kafka.backend=rdkafka', 'kafka.compression=none', 'log.level=warn'] });
  const bus = createBus(config.kafka, createLogger('warn', { pretty: false }));
  const producer: Producer = await bus.producer();
  try {
    const sending: Promise<void>[] = [];
    for (let i = 0; i < records.length; i += 10_000) {
      sending.push(producer.send(records.slice(i, i + 10_000)));
      if (sending.length >= 8) await sending.shift();
    }
    await Promise.all(sending);
  } finally {
    await producer.close();
  }
}

/**
 * Raw envelopes exactly as `tally ship` writes them (its own record template), one line per record,
 * from `files` different files so the records spread over the partitions (round-robin).
 */
export function rawEnvelopes(topic: string, kind: string, lines: readonly string[], options: { partitions: number; files?: number; tags?: string[] }): OutgoingRecord[] {
  const files = options.files ?? 8;
  const templates = Array.from({ length: files }, (_, f) => {
    const context: RecordContext = { kind, topic, dlqTopic: topic.replace(/raw\.[^.]+$/, `dlq.${kind}`), tags: options.tags ?? (kind === 'accounting' ? ['accounting'] : []), fields: {}, keyBy: 'stream' };
    const file = `/var/log/bench/${kind}-${f}.log`;
    return new LineRecordTemplate(context, { path: file, fileId: `${4_000_000 + f}-2049`, stream: file });
  });
  const time = LineRecordTemplate.timestamp(new Date(Date.UTC(2026, 11, 1)));
  const offsets = new Array<number>(files).fill(0);
  return lines.map((line, i) => {
    const f = i % files;
    const record = (templates[f] as LineRecordTemplate).record(line, offsets[f] as number, time);
    offsets[f] = (offsets[f] as number) + Buffer.byteLength(line) + 1;
    return { ...record, partition: i % options.partitions };
  });
}
