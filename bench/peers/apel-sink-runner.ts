import { createBus } from '../../pipeline/bus/index.js';
import { loadConfig } from '../../pipeline/config/load.js';
import { createLogger } from '../../pipeline/log.js';
import { useConfiguredRegistry } from '../../pipeline/registry/in-use.js';

/**
 * `tally sink apel` for the benchmark, until the CLI has that command: the APEL sink's own
 * startApelSink in a process of its own, reporting its on-disk record count (stats().written) on
 * stdout as it grows, so the benchmark times it from outside.
 *   node dist/bench/peers/apel-sink-runner.js <config.yaml> <queue-dir> <group>
 */
interface ApelSinkModule {
  startApelSink(options: { bus: unknown; log: unknown; config: { path: string; groupId: string; topics: string[] } }): Promise<{ stats(): { written: number; messages: number }; stop(): Promise<void> }>;
}

const [configFile, queueDir, groupId] = process.argv.slice(2);
if (!configFile || !queueDir || !groupId) throw new Error('usage: apel-sink-runner.js <config.yaml> <queue-dir> <group>');
const config = loadConfig({ file: configFile });
const log = createLogger(config.log.level, { pretty: false });
useConfiguredRegistry(config);
const bus = createBus(config.kafka, log);
// loaded by name at run time: the APEL sink is built by another engineer, and its API may still move
const modulePath = '../../connectors/sinks/apel/sink.js';
const { startApelSink } = (await import(modulePath)) as ApelSinkModule;
const sink = await startApelSink({ bus, log, config: { path: queueDir, groupId, topics: ['cloud.vm'] } });
process.stdout.write(`bench apel sink running: ${bus.topic('cloud.vm')} → ${queueDir}\n`);
let reported = -1;
const timer = setInterval(() => {
  const { written } = sink.stats();
  if (written !== reported) {
    reported = written;
    process.stdout.write(`written ${written}\n`);
  }
}, 10);
const stop = async (): Promise<void> => {
  clearInterval(timer);
  await sink.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
