import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TallyError } from '../../../pipeline/errors.js';
import { batchInHand, countsBridge, errorCode, metricsRegistry, type StageCounts } from '../../../pipeline/runtime/metrics.js';

async function value(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = metricsRegistry.getSingleMetric(name);
  const data = await metric?.get();
  const found = data?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value;
}

describe('metrics', () => {
  test('every metric is named tally_*', async () => {
    const names = (await metricsRegistry.getMetricsAsJSON()).map((m) => m.name);
    assert.ok(names.length >= 15);
    for (const name of names) assert.match(name, /^tally_/);
  });

  test('countsBridge adds what a stage counted since the last scrape, per stage and kind', async () => {
    const stage = 'unit-bridge';
    let counts: StageCounts = { kinds: { accounting: { in: 10, out: 8, rejected: 2, deadLettered: 2, retried: 1, skipped: { empty: 3 } } }, kafkaErrors: { KAFKA_RETRIABLE: 1 } };
    const sync = countsBridge(stage, () => counts);
    sync();
    assert.equal(await value('tally_events_in_total', { stage, kind: 'accounting' }), 10);
    assert.equal(await value('tally_events_out_total', { stage, kind: 'accounting' }), 8);
    assert.equal(await value('tally_events_rejected_total', { stage, kind: 'accounting' }), 2);
    assert.equal(await value('tally_dlq_records_total', { stage, kind: 'accounting' }), 2);
    assert.equal(await value('tally_retries_total', { stage, kind: 'accounting' }), 1);
    assert.equal(await value('tally_events_skipped_total', { stage, kind: 'accounting', reason: 'empty' }), 3);
    assert.equal(await value('tally_kafka_errors_total', { stage, code: 'KAFKA_RETRIABLE' }), 1);
    sync();
    assert.equal(await value('tally_events_in_total', { stage, kind: 'accounting' }), 10, 'nothing new, nothing added');
    counts = { kinds: { accounting: { in: 25, out: 20 }, 'oslo-log': { in: 4 } }, elasticsearchErrors: { '429': 2 } };
    sync();
    assert.equal(await value('tally_events_in_total', { stage, kind: 'accounting' }), 25);
    assert.equal(await value('tally_events_out_total', { stage, kind: 'accounting' }), 20);
    assert.equal(await value('tally_events_in_total', { stage, kind: 'oslo-log' }), 4);
    assert.equal(await value('tally_elasticsearch_errors_total', { stage, code: '429' }), 2);
  });

  test('tally_batch_age_seconds shows the oldest batch in hand, and 0 once it is done', async () => {
    const group = 'unit-age';
    const leave = batchInHand(group);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.ok(((await value('tally_batch_age_seconds', { group })) ?? 0) >= 0.02);
    leave();
    assert.equal(await value('tally_batch_age_seconds', { group }), 0);
  });

  test('error codes are TallyError codes or UNKNOWN, never free text', () => {
    assert.equal(errorCode(new TallyError('KAFKA_RETRIABLE', 'x')), 'KAFKA_RETRIABLE');
    assert.equal(errorCode(new Error('broker 10.0.0.1 down')), 'UNKNOWN');
  });
});
