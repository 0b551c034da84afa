import { readFileSync } from 'node:fs';
import { createBus } from '../../pipeline/bus/index.js';
import type { OutgoingRecord } from '../../pipeline/bus/types.js';
import { loadConfig } from '../../pipeline/config/load.js';
import { createLogger } from '../../pipeline/log.js';
import { LineRecordTemplate, type RecordContext } from '../../connectors/sources/file-tail/records.js';

/**
 * Ship's client ceiling: `tally ship` without the shipper. The file's lines made into the same
 * envelopes and keys before the clock (the shipper's own template), then produced through the same
 * Bus producer, one message per line, in sends of `batchMaxLines`, up to `maxInFlightSends` at once
 * (1 for kafkajs, as ship does). What is left between this and kcat is the JavaScript client.
 * It waits for SIGTERM when done.
 *   node dist/bench/peers/produce-loop.js <config.yaml> <file> <topic> <batchMaxLines> <maxInFlightSends>
 */
const [configFile, file, topic, batchText, inFlightText] = process.argv.slice(2);
if (!configFile || !file || !topic || !batchText || !inFlightText) throw new Error('usage: produce-loop.js <config.yaml> <file> <topic> <batchMaxLines> <maxInFlightSends>');
const config = loadConfig({ file: configFile });
const log = createLogger(config.log.level, { pretty: false });
const bus = createBus(config.kafka, log);
const batch = Number(batchText);
const inFlight = config.kafka.backend === 'kafkajs' ? 1 : Number(inFlightText);

const context: RecordContext = { kind: 'accounting', topic, dlqTopic: `${topic}.dlq`, tags: ['accounting'], fields: {}, keyBy: 'stream' };
const template = new LineRecordTemplate(context, { path: file, fileId: '1-1', stream: file });
const time = LineRecordTemplate.timestamp();
const records: OutgoingRecord[] = [];
let offset = 0;
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (line === '') continue;
  records.push(template.record(line, offset, time));
  offset += Buffer.byteLength(line) + 1;
}

const producer = await bus.producer();
process.stdout.write(`bench produce-loop ready: ${records.length} records → ${topic}\n`);
let next = 0;
const sender = async (): Promise<void> => {
  while (next < records.length) {
    const from = next;
    next = Math.min(records.length, next + batch);
    await producer.send(records.slice(from, next));
  }
};
await Promise.all(Array.from({ length: inFlight }, () => sender()));
process.stdout.write(`bench produce-loop done: ${records.length} records acknowledged\n`);
// stays until the benchmark, having seen every record on the topic, stops it: its CPU is read from /proc while it runs
process.once('SIGTERM', () => void producer.close().finally(() => process.exit(0)));
