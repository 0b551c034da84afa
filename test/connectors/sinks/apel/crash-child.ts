/**
 * A `tally sink apel`-like process for the SIGKILL tests: argv[2] is JSON { topicPrefix, sink, pauseAtTemporary }.
 * Prints "ready" when consuming. With pauseAtTemporary N, the Nth message's .tmp is written and
 * synced, "tmp <path>" is printed, and the process waits there, before the link: the kill under test.
 * SIGTERM stops it gracefully (exit 0).
 */
import { startApelSink } from '../../../../connectors/sinks/apel/sink.js';
import { testBus, testLog } from '../../../support/world.js';

const options = JSON.parse(process.argv[2] ?? '{}') as { topicPrefix: string; sink: { path: string } & Record<string, unknown>; pauseAtTemporary?: number };
// a short session so the restarted member gets the killed one's partitions soon
const bus = testBus('kafkajs', [`kafka.topicPrefix=${options.topicPrefix}`, 'kafka.sessionTimeoutMs=6000']);
let temporaries = 0;
const sink = await startApelSink({
  bus,
  log: testLog,
  config: options.sink,
  writerHooks: {
    onTemporaryWritten: async (temporary) => {
      temporaries += 1;
      if (temporaries !== options.pauseAtTemporary) return;
      process.stdout.write(`tmp ${temporary}\n`);
      await new Promise(() => undefined);
    },
  },
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void sink.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
