import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { monthlyIndex } from '../../../connectors/sinks/elasticsearch/index-name.js';
import { installIndexTemplates } from '../../../connectors/sinks/elasticsearch/setup.js';
import { indexedTopic } from '../../../connectors/sinks/elasticsearch/topics.js';
import { toJsonDocument } from '../../../pipeline/avro.js';
import { reportCommand } from '../../../app/cli/commands/report.js';
import { isTallyError } from '../../../pipeline/errors.js';
import { accountingReport } from '../../../pipeline/report/accounting.js';
import { histogramInterval, renderTable, runReport, type ReportParams } from '../../../pipeline/report/panel.js';
import { esClient, uniqueName } from '../../support/world.js';
import { usageCodec, usageRecord, type UsageRecord } from '../../connectors/sinks/elasticsearch/records.js';

const at = (iso: string): number => Date.parse(iso);
const known: UsageRecord[] = [
  usageRecord({ id: 'r1', timestamp: at('2026-04-10T10:00:00Z'), userid: 'alice', serviceid: 'svc-a', resource: 'ds-1', action: 'download', measure: 'information', value: 10 }),
  usageRecord({ id: 'r2', timestamp: at('2026-04-10T12:00:00Z'), userid: 'alice', serviceid: 'svc-a', resource: 'ds-1', action: 'download', measure: 'information', value: 5.5 }),
  usageRecord({ id: 'r3', timestamp: at('2026-04-11T09:00:00Z'), userid: 'bob', serviceid: 'svc-a', resource: 'ds-2', action: 'upload', measure: 'information', value: 2.25, type: '-' }),
  usageRecord({ id: 'r4', timestamp: at('2026-04-11T10:00:00Z'), userid: 'alice', serviceid: 'svc-b', resource: 'vm-1', action: 'run', measure: 'time', value: 1000 }),
  usageRecord({ id: 'r5', timestamp: at('2026-04-12T00:00:00Z'), userid: 'carol', serviceid: 'svc-b', resource: 'vm-1', action: 'run', measure: 'time', value: 500 }),
  usageRecord({ id: 'r6', timestamp: at('2026-04-12T08:00:00Z'), userid: 'bob', serviceid: 'svc-b', resource: 'vm-2', action: 'run', measure: 'time', value: 250, type: '0' }),
  usageRecord({ id: 'r7', timestamp: at('2026-04-12T09:00:00Z'), userid: 'alice', serviceid: 'svc-c', resource: 'api', action: 'call', measure: 'unit', value: 1 }),
  usageRecord({ id: 'r8', timestamp: at('2026-04-12T10:00:00Z'), userid: 'carol', serviceid: 'svc-c', resource: 'api', action: 'call', measure: 'unit', value: 1 }),
  usageRecord({ id: 'r9', timestamp: at('2026-04-12T11:00:00Z'), userid: 'carol', serviceid: 'svc-c', resource: 'api', action: 'call', measure: 'unit', value: 1, type: '-', comment: 'refund of a failed call' }),
  usageRecord({ id: 'r10', timestamp: at('2026-05-01T00:00:00Z'), userid: 'dave', serviceid: 'svc-a', resource: 'ds-1', action: 'download', measure: 'information', value: 4 }),
];
const all: Partial<ReportParams> = { from: '2026-04-01T00:00:00Z', to: '2026-05-31T23:59:59Z' };

describe('tally report accounting on the real Elasticsearch', { timeout: 60_000 }, () => {
  const client = esClient();
  const prefix = `${uniqueName('tally-report')}-`;
  const report = (panel: string, params: Partial<ReportParams> = {}) => runReport(client, accountingReport, panel, { indexPrefix: prefix, params: { ...all, ...params } }).then((r) => r.rows);

  before(async () => {
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: [indexedTopic('accounting.usage')] });
    const operations = known.flatMap((r) => [{ index: { _index: monthlyIndex(prefix, 'accounting-usage', r.timestamp), _id: r.id } }, toJsonDocument(usageCodec(), r as never)]);
    const response = await client.bulk({ operations, refresh: 'wait_for' });
    assert.equal(response.errors, false);
  });
  after(async () => {
    await client.indices.delete({ index: `${prefix}*` }).catch(() => undefined);
    await client.indices.deleteIndexTemplate({ name: `${prefix}accounting-usage` }).catch(() => undefined);
    await client.cluster.deleteComponentTemplate({ name: `${prefix}accounting-usage-*` }).catch(() => undefined);
    await client.close();
  });

  test('usage-by-measure: signed sums per measure and day, the largest measure first', async () => {
    assert.deepEqual(await report('usage-by-measure'), [
      { measure: 'time', period: '2026-04-11T00:00:00.000Z', records: 1, value: 1000 },
      { measure: 'time', period: '2026-04-12T00:00:00.000Z', records: 2, value: 500 },
      { measure: 'information', period: '2026-04-10T00:00:00.000Z', records: 2, value: 15.5 },
      { measure: 'information', period: '2026-04-11T00:00:00.000Z', records: 1, value: -2.25 },
      { measure: 'information', period: '2026-05-01T00:00:00.000Z', records: 1, value: 4 },
      { measure: 'unit', period: '2026-04-12T00:00:00.000Z', records: 3, value: 1 },
    ]);
    assert.deepEqual(await report('usage-by-measure', { interval: '1M', size: 1 }), [
      { measure: 'time', period: '2026-04-01T00:00:00.000Z', records: 3, value: 1500 },
    ]);
  });

  test('top-users: by records, ties by name; per measure', async () => {
    assert.deepEqual(await report('top-users'), [
      { userid: 'alice', measure: 'information', records: 2, value: 15.5 },
      { userid: 'alice', measure: 'time', records: 1, value: 1000 },
      { userid: 'alice', measure: 'unit', records: 1, value: 1 },
      { userid: 'carol', measure: 'unit', records: 2, value: 0 },
      { userid: 'carol', measure: 'time', records: 1, value: 500 },
      { userid: 'bob', measure: 'information', records: 1, value: -2.25 },
      { userid: 'bob', measure: 'time', records: 1, value: 0 },
      { userid: 'dave', measure: 'information', records: 1, value: 4 },
    ]);
    const april = await report('top-users', { to: '2026-04-30T23:59:59Z' });
    assert.ok(!april.some((r) => r.userid === 'dave'), 'the time range filters');
  });

  test('top-services and top-resources', async () => {
    assert.deepEqual(await report('top-services'), [
      { serviceid: 'svc-a', measure: 'information', records: 4, value: 17.25 },
      { serviceid: 'svc-b', measure: 'time', records: 3, value: 1500 },
      { serviceid: 'svc-c', measure: 'unit', records: 3, value: 1 },
    ]);
    assert.deepEqual(await report('top-resources'), [
      { resource: 'api', measure: 'unit', records: 3, value: 1 },
      { resource: 'ds-1', measure: 'information', records: 3, value: 19.5 },
      { resource: 'vm-1', measure: 'time', records: 2, value: 1500 },
      { resource: 'ds-2', measure: 'information', records: 1, value: -2.25 },
      { resource: 'vm-2', measure: 'time', records: 1, value: 0 },
    ]);
    assert.deepEqual((await report('top-resources', { size: 2 })).map((r) => r.resource), ['api', 'ds-1']);
  });

  test('actions-by-type', async () => {
    assert.deepEqual(await report('actions-by-type'), [
      { action: 'call', type: '+', records: 2 },
      { action: 'call', type: '-', records: 1 },
      { action: 'download', type: '+', records: 3 },
      { action: 'run', type: '+', records: 2 },
      { action: 'run', type: '0', records: 1 },
      { action: 'upload', type: '-', records: 1 },
    ]);
  });

  test('recent: the latest records with their comment', async () => {
    assert.deepEqual(await report('recent', { size: 2 }), [
      { timestamp: '2026-05-01T00:00:00.000Z', serviceid: 'svc-a', userid: 'dave', resource: 'ds-1', action: 'download', value: 4, measure: 'information', unit: 'MB', type: '+', comment: null },
      { timestamp: '2026-04-12T11:00:00.000Z', serviceid: 'svc-c', userid: 'carol', resource: 'api', action: 'call', value: 1, measure: 'unit', unit: '1', type: '-', comment: 'refund of a failed call' },
    ]);
  });

  test('the command prints a table, or the rows as JSON; a wrong panel or size is a usage error', async () => {
    const saved = process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
    process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = prefix;
    try {
      const run = async (...args: string[]): Promise<string> => {
        let text = '';
        await reportCommand(undefined, { write: (s: string) => (text += s) }).parseAsync(['accounting', ...args, '--from', '2026-04-01', '--to', '2026-05-31'], { from: 'user' });
        return text;
      };
      assert.equal(
        await run('top-services'),
        ['serviceid  measure      records  value', '---------  -----------  -------  -----', 'svc-a      information        4  17.25', 'svc-b      time               3   1500', 'svc-c      unit               3      1', ''].join('\n'),
      );
      assert.deepEqual(JSON.parse(await run('actions-by-type', '--json', '--size', '1')), [{ action: 'call', type: '+', records: 2 }, { action: 'call', type: '-', records: 1 }]);
      await assert.rejects(run('top-nothing'), (error) => isTallyError(error, 'USAGE') && /top-users/.test(error.message));
      await assert.rejects(run('recent', '--size', '0'), (error) => isTallyError(error, 'USAGE'));
    } finally {
      if (saved === undefined) delete process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
      else process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = saved;
    }
  });
});

test('intervals and the table format', () => {
  assert.deepEqual(histogramInterval('1d'), { calendar_interval: '1d' });
  assert.deepEqual(histogramInterval('6h'), { fixed_interval: '6h' });
  assert.throws(() => histogramInterval('fortnight'), (error) => isTallyError(error, 'USAGE'));
  assert.equal(renderTable([{ key: 'a', title: 'a' }, { key: 'n', title: 'sum', numeric: true }], [{ a: 'x', n: 0.1 + 0.2 }, { a: 'longer', n: null }]), 'a       sum\n------  ---\nx       0.3\nlonger\n');
});
