import { readFileSync } from 'node:fs';
import { rawEnvelopes } from '../fill.js';
import { benchClients } from './clients/index.js';
import type { LoopMessage, LoopRun } from './clients/types.js';

/**
 * One client's loop in its own process, so its CPU and memory are its own:
 *   node dist/bench/peers/client-loop.js <client> produce <brokers> <topic> <partitions> <corpus file>
 *   node dist/bench/peers/client-loop.js <client> consume|transform <brokers> <topic> <count> <group> [<output topic>]
 * produce builds ship's envelopes of the corpus lines (keys, values, partitions round-robin) before
 * it says ready; consume and transform print `progress <n>` as messages are read (or committed).
 * It says done and waits for SIGTERM, so the bench reads its /proc figures while it runs.
 */
const [clientId, mode, brokerList, topic, numberText, groupOrFile, outputTopic] = process.argv.slice(2);
const client = benchClients.find((c) => c.id === clientId);
if (!client || !mode || !brokerList || !topic || !numberText || !groupOrFile) throw new Error('usage: client-loop.js <client> produce|consume|transform <brokers> <topic> <partitions|count> <file|group> [<output topic>]');
const loop = await client.load();
let reported = -1;
let latest = 0;
const report = (): void => {
  if (latest !== reported) process.stdout.write(`progress ${(reported = latest)}\n`);
};
const ticker = setInterval(report, 20);
const run: LoopRun = {
  brokers: brokerList.split(','),
  topic,
  outputTopic: outputTopic ?? '',
  group: groupOrFile,
  count: Number(numberText),
  progress: (done) => {
    latest = done;
  },
};
if (mode === 'produce') {
  const lines = readFileSync(groupOrFile, 'utf8').split('\n').filter((l) => l !== '');
  const messages: LoopMessage[] = rawEnvelopes(topic, 'accounting', lines, { partitions: Number(numberText) }).map((r) => ({ key: Buffer.from(r.key ?? ''), value: Buffer.from(r.value as string), partition: r.partition ?? 0 }));
  process.stdout.write(`bench client-loop ready: ${messages.length} messages → ${topic}\n`);
  await loop.produce(run, messages);
  latest = messages.length;
} else {
  process.stdout.write(`bench client-loop ready: ${mode} ${topic}\n`);
  if (mode === 'consume') await loop.consume(run);
  else if (mode === 'transform') await loop.transform(run);
  else throw new Error(`unknown mode ${mode}`);
}
report();
clearInterval(ticker);
process.stdout.write(`bench client-loop done\n`);
process.once('SIGTERM', () => void loop.close().finally(() => process.exit(0)));
setInterval(() => undefined, 60_000);
