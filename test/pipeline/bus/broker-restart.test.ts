import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBus } from '../../../pipeline/bus/index.js';
import { readTopicToEnd } from '../../../pipeline/bus/read-topic.js';
import type { Bus, OutgoingRecord } from '../../../pipeline/bus/types.js';
import { startConsumerStage } from '../../../pipeline/runtime/consumer-stage.js';
import { busyCore, startOwnBroker, type OwnBroker } from '../../support/own-broker.js';
import { backends, eventually, testConfig, testLog, uniqueName } from '../../support/world.js';

/**
 * A stage that consumes, produces and commits keeps going after its broker is killed and comes back
 * on a busy machine. This is the broker-restart stall of the fault suite made small: kafkajs's
 * consumer crashed for good on "Failed to find group coordinator" while the restarted broker was
 * still loading its groups, and the stage sat with lag and no consumer.
 */
const outageMs = Number(process.env.TALLY_TEST_BROKER_OUTAGE_MS ?? 15_000);

for (const backend of backends) {
  describe(`${backend}: a consuming and producing stage across a broker SIGKILL and restart, both cores busy`, { timeout: 420_000 }, () => {
    let broker: OwnBroker | undefined;
    after(async () => broker?.close());

    test('every input reaches the output topic and the group commits to the end, without restarting the stage', async () => {
      broker = await startOwnBroker(`restart-${backend}`);
      const config = testConfig([`kafka.backend=${backend}`, 'kafka.sessionTimeoutMs=10000', 'kafka.commitIntervalMs=200', 'kafka.requestTimeoutMs=10000']);
      const bus: Bus = createBus({ ...config.kafka, brokers: [broker.bootstrap] }, testLog);
      const input = uniqueName('restart-in');
      const output = uniqueName('restart-out');
      const groupId = uniqueName('restart-group');
      const admin = await bus.admin();
      await admin.createTopics([{ topic: input, partitions: 3 }, { topic: output, partitions: 3 }]);
      await admin.close();

      const outputs = await bus.producer();
      let handled = 0;
      const stage = await startConsumerStage({
        bus,
        log: testLog,
        groupId,
        topics: [input],
        maxBackoffMs: 2000,
        handle: async (messages) => {
          await outputs.send(messages.map((m): OutgoingRecord => ({ topic: output, key: m.key, value: m.value })));
          handled += messages.length;
        },
      });

      // the stage and the clients end even when an assertion fails: an rdkafka client left open keeps the test file alive
      const feeder = await bus.producer({ retries: 1, timeoutMs: 5000 });
      let feeding = true;
      try {
        const fed: string[] = [];
        const feeding$ = (async () => {
          for (let batch = 0; feeding; batch += 1) {
            const records = Array.from({ length: 20 }, (_, i) => ({ topic: input, key: `k-${batch}-${i}`, value: `v-${batch}-${i}` }));
            let sent = false;
            while (!sent && feeding) {
              try {
                await feeder.send(records);
                sent = true;
              } catch {
                await sleep(500);
              }
            }
            if (sent) fed.push(...records.map((r) => r.key));
            await sleep(100);
          }
        })();

        let fedBeforeOutage = 0;
        let fedAtRestart = 0;
        const busy = [busyCore(), busyCore()];
        try {
          await eventually('the stage handles input', 60_000, () => (handled > 0 ? true : undefined));
          fedBeforeOutage = fed.length;
          await broker.stop('SIGKILL');
          await sleep(outageMs);
          await broker.start();
          fedAtRestart = fed.length;
          const handledAtRestart = handled;
          await eventually('the stage handles input again after the restart', 180_000, () => (handled > handledAtRestart ? true : undefined));
          await eventually('input fed after the restart', 180_000, () => (fed.length > fedAtRestart ? true : undefined));
        } finally {
          for (const b of busy) b.stop();
        }
        await sleep(2000);
        feeding = false;
        await feeding$;

        const check = await bus.admin();
        try {
          await eventually('the group committed every input', 180_000, async () => {
            const offsets = await check.groupOffsets(groupId, input);
            return offsets.every((o) => o.lag === 0) ? true : undefined;
          });
        } finally {
          await check.close();
        }
        const seen = new Set<string>();
        await readTopicToEnd(bus, output, (m) => void seen.add(m.key?.toString('utf8') ?? ''));
        const missing = fed.filter((key) => !seen.has(key));
        assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${fed.length} inputs never reached the output topic`);
        // on a busy machine the feeder is slow: what matters is that input flowed on both sides of the outage
        assert.ok(fedBeforeOutage > 0 && fed.length > fedAtRestart, `input flowed before (${fedBeforeOutage}) and after the outage (${fed.length - fedAtRestart} after the restart)`);
      } finally {
        feeding = false;
        await feeder.close().catch(() => undefined);
        await stage.stop().catch(() => undefined);
        await outputs.close().catch(() => undefined);
      }
    });
  });
}
