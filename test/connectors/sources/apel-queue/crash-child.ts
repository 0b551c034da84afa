/**
 * A `tally apel-queue`-like process for the SIGKILL test: argv[2] is JSON { topicPrefix, source }.
 * Prints "ready" when reading; SIGTERM stops it gracefully (exit 0); SIGKILL is the crash under test.
 */
import { startApelQueueSource } from '../../../../connectors/sources/apel-queue/source.js';
import { testBus, testLog } from '../../../support/world.js';

const options = JSON.parse(process.argv[2] ?? '{}') as { topicPrefix: string; source: { path: string } & Record<string, unknown> };
const bus = testBus('kafkajs', [`kafka.topicPrefix=${options.topicPrefix}`]);
const source = await startApelQueueSource(options.source, { bus, log: testLog });
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void source.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
