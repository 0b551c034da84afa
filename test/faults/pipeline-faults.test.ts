import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planFromEnv, runPlan } from './run.js';

// an hour for the short suite; the 20-trial runs of npm run test:faults need longer
const timeout = Math.max(3_600_000, Number(process.env.TALLY_FAULT_TRIALS ?? 2) * 720_000);

/**
 * The fault suite, short: every fault of test/faults/faults.ts, TALLY_FAULT_TRIALS times each
 * (2 here; `npm run test:faults` runs 20 and writes test/faults/REPORT.md), on Kafka and
 * Elasticsearch of its own. Nothing lost, nothing doubled, nothing valid dead-lettered, every
 * deliberately invalid line dead-lettered, and every trial recovers without a restart.
 */
describe('fault suite: SIGKILL of each stage, Elasticsearch down or refusing, broker restart and SIGKILL, rebalance, three-broker Kafka cluster faults with both backends, SIGKILL of an Elasticsearch cluster node', { timeout }, () => {
  test('every trial ends with each expected record once in Elasticsearch, its latest snapshot last in the APEL queue, only the invalid lines dead-lettered, lag 0, every stage ready again', { timeout }, async () => {
    const { worlds, options } = await planFromEnv();
    const { runs, controls } = await runPlan(worlds, options);
    process.stdout.write(`# faults: results in ${options.resultsDir}\n`);
    assert.equal(runs.length, worlds.flat().length, 'every fault ran');
    for (const run of runs) {
      const where = `${run.fault}: ${run.notes.join(' | ').slice(0, 1500)}`;
      assert.equal(run.trials, options.trials, `${where}: every trial ran`);
      assert.equal(run.lost, 0, `${where}: records lost`);
      assert.equal(run.doubled, 0, `${where}: records doubled in Elasticsearch or in the domain topics (read_committed)`);
      assert.equal(run.validInDlq, 0, `${where}: valid records in the DLQ`);
      assert.equal(run.details.invalidMissingFromDlq, 0, `${where}: invalid lines missing from the DLQ`);
      assert.equal(run.recoverySeconds.length, run.trials, `${where}: every trial recovered without a restart`);
      assert.deepEqual(run.details.unexpectedExits, [], `${where}: no stage died by itself`);
      for (const t of run.details.trials) assert.equal(t.outcome.lag, 0, `${where}: lag 0 after trial ${t.trial + 1}`);
      for (const t of run.details.trials) assert.equal(t.vacuous, undefined, `${where}: trial ${t.trial + 1} tested the fault`);
      for (const t of run.details.trials) assert.deepEqual(t.readiness.notReadyAfter, [], `${where}: every stage's /readyz 200 again after trial ${t.trial + 1}`);
    }
    // the negative controls: documents swallowed behind the sink's back must show up as lost, and a
    // transform without transactions killed mid-batch must show up as doubles in the domain topics
    for (const control of controls) {
      assert.equal(control.trials, 1, `${control.fault} ran: ${control.notes.join(' | ')}`);
      if (control.fault === 'control-eos-off') {
        assert.ok(control.doubled > 0, `${control.fault}: the read-committed check sees the transform's replays as doubles (${control.doubled})`);
        assert.equal(control.lost, 0, `${control.fault}: and nothing lost`);
        continue;
      }
      assert.ok(control.lost > 0, `${control.fault}: the checks see the silently dropped documents as lost (${control.lost})`);
      assert.equal(control.recoverySeconds.length, 0, `${control.fault}: and the trial does not count as recovered`);
    }
  });
});
