/**
 * A `tally ship`-like process for the SIGKILL test: argv[2] is JSON { backend, topicPrefix, tail }.
 * Prints "ready" when tailing; SIGTERM stops it gracefully (exit 0); SIGKILL is the crash under test.
 */
import { startFileTail } from '../../../../connectors/sources/file-tail/index.js';
import type { KafkaBackendName } from '../../../../pipeline/config/types.js';
import { testBus, testLog } from '../../../support/world.js';

const options = JSON.parse(process.argv[2] ?? '{}') as { backend: KafkaBackendName; topicPrefix: string; tail: { paths: string[] } & Record<string, unknown> };
const bus = testBus(options.backend, [`kafka.topicPrefix=${options.topicPrefix}`]);
const tail = await startFileTail(options.tail, { bus, log: testLog });
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void tail.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
