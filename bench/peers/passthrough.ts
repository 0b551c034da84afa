import { createBus } from '../../pipeline/bus/index.js';
import type { IncomingMessage } from '../../pipeline/bus/types.js';
import { loadConfig } from '../../pipeline/config/load.js';
import { createLogger } from '../../pipeline/log.js';
import { installShutdown } from '../../pipeline/runtime/shutdown.js';
import { startConsumerStage } from '../../pipeline/runtime/consumer-stage.js';

/**
 * The transform's I/O ceiling: `tally transform` without the transform. The same Bus, the same
 * consumer stage loop (batches, done-marking, commits) and the same producer, copying each raw
 * message's key and value to <prefix>passthrough.out unparsed.
 *   node dist/bench/peers/passthrough.js <config.yaml> <group>
 */
const [configFile, groupId] = process.argv.slice(2);
if (!configFile || !groupId) throw new Error('usage: passthrough.js <config.yaml> <group>');
const config = loadConfig({ file: configFile });
const log = createLogger(config.log.level, { pretty: false });
const bus = createBus(config.kafka, log);
const producer = await bus.producer();
const out = bus.topic('passthrough.out');
const stage = await startConsumerStage({
  bus,
  log,
  groupId,
  topics: config.transform.kinds.map((kind) => bus.topic(`raw.${kind}`)),
  fromBeginning: true,
  handle: async (messages: IncomingMessage[]) => {
    for (let i = 0; i < messages.length; i += config.transform.maxBatchMessages) {
      await producer.send(messages.slice(i, i + config.transform.maxBatchMessages).map((m) => ({ topic: out, key: m.key, value: m.value })));
    }
  },
});
process.stdout.write(`bench passthrough running: ${config.transform.kinds.map((k) => bus.topic(`raw.${k}`)).join(', ')} → ${out}\n`);
installShutdown(log, config.shutdown.drainTimeoutMs, [
  async () => {
    await stage.stop();
    await producer.close();
  },
]);
