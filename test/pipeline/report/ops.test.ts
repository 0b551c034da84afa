import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { reportCommand } from '../../../app/cli/commands/report.js';
import { isTallyError } from '../../../pipeline/errors.js';
import { opsReport, type RolloutParams } from '../../../pipeline/report/ops.js';
import { runReport, type ReportRow } from '../../../pipeline/report/panel.js';
import { dropEvents, eventsOf, fixtureEvents, indexEvents } from '../../support/fixture-events.js';
import { esClient, uniqueName } from '../../support/world.js';

const all: Partial<RolloutParams> = { from: '2000-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' };

/**
 * Known durations and a rollout, written for this test in the fixtures' nova-api format: five calls
 * of one endpoint (100, 200, 300, 400 and 1000 ms), and the exceptions of an hour before a rollout at
 * 12:00 (two) and the half hour after it (six, and a warning without an exception).
 */
const bracket = (n: number) => `[None req-0a0b0c0d-0000-4000-8000-${String(n).padStart(12, '0')} 6b8c4a9e2f5d4c1b9a7e3d2c1b0a9f8e 3f1e2d4c5b6a47988796a5b4c3d2e1f0 - - default default]`;
const call = (n: number, time: string, seconds: string) =>
  `2026-06-01 ${time} 3012 INFO nova.osapi_compute.wsgi.server ${bracket(n)} 10.0.0.5 "GET /v2.1/servers/detail HTTP/1.1" status: 200 len: 1500 microversion: 2.79 time: ${seconds}`;
const timeout = (n: number, time: string) => `2026-06-01 ${time} 3012 ERROR nova.api.openstack.wsgi ${bracket(n)} Unexpected exception in API method: oslo_messaging.exceptions.MessagingTimeout: Timed out waiting for a reply to message ID 1f2e`;
const vif = (n: number, time: string) => `2026-06-01 ${time} 4021 ERROR nova.compute.manager ${bracket(n)} Failed to allocate network(s): nova.exception.VirtualInterfaceCreateException: Virtual Interface creation failed`;
const novaApi = [call(1, '11:10:00.000', '0.1000000'), call(2, '11:10:01.000', '0.2000000'), call(3, '11:10:02.000', '0.3000000'), call(4, '11:10:03.000', '0.4000000'), call(5, '11:10:04.000', '1.0000000'), timeout(6, '11:20:00.000'), timeout(7, '11:40:00.000'), timeout(8, '12:10:00.000'), timeout(9, '12:10:30.000')];
const novaCompute = [vif(10, '12:01:00.000'), vif(11, '12:02:00.000'), vif(12, '12:03:00.000'), vif(13, '12:04:00.000'), `2026-06-01 12:15:00.000 4021 WARNING nova.compute.manager ${bracket(14)} Timeout waiting for vif plugging callback for instance`];

const rounded = (rows: ReportRow[]): ReportRow[] => rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toFixed(6)) : v])));

describe('tally report ops on the real Elasticsearch: every oslo.log fixture and a rollout', { timeout: 90_000 }, () => {
  const client = esClient();
  const indexPrefix = `${uniqueName('tally-report-ops')}-`;
  const report = (panel: string, params: Partial<RolloutParams> = {}) => runReport(client, opsReport, panel, { indexPrefix, params: { ...all, ...params } }).then((r) => rounded(r.rows));

  before(async () => {
    const records = [
      ...fixtureEvents('oslo-log'),
      ...eventsOf('oslo-log', [
        { path: '/var/log/nova/nova-api.log', text: `${novaApi.join('\n')}\n` },
        { path: '/var/log/nova/nova-compute.log', text: `${novaCompute.join('\n')}\n` },
      ]),
    ];
    assert.equal(records.length, 48 + 14);
    await indexEvents(client, indexPrefix, records);
  });
  after(async () => {
    await dropEvents(client, indexPrefix);
    await client.close();
  });

  test('exceptions-rollout: exceptions per second before and after --at, with their types', async () => {
    assert.deepEqual(await report('exceptions-rollout', { from: '2026-06-01T11:00:00Z', to: '2026-06-01T12:30:00Z', at: '2026-06-01T12:00:00Z' }), [
      { window: 'before', from: '2026-06-01T11:00:00.000Z', to: '2026-06-01T12:00:00.000Z', seconds: 3600, exceptions: 2, per_second: 0.000556, types: 'oslo_messaging.exceptions.MessagingTimeout:2' },
      {
        window: 'after',
        from: '2026-06-01T12:00:00.000Z',
        to: '2026-06-01T12:30:00.000Z',
        seconds: 1800,
        exceptions: 6,
        per_second: 0.003333,
        types: 'nova.exception.VirtualInterfaceCreateException:4, oslo_messaging.exceptions.MessagingTimeout:2',
      },
    ]);
    // the fixtures' libvirt failure, 2024-02-29 14:03:11.402
    const fixtures = await report('exceptions-rollout', { from: '2024-02-29T14:00:00Z', to: '2024-02-29T14:10:00Z', at: '2024-02-29T14:03:11Z' });
    assert.deepEqual(fixtures.map((r) => [r.window, r.seconds, r.exceptions, r.types]), [
      ['before', 191, 0, ''],
      ['after', 409, 1, 'libvirt.libvirtError:1'],
    ]);
    await assert.rejects(report('exceptions-rollout'), (error) => isTallyError(error, 'USAGE') && /--at/.test(error.message));
  });

  test('api-latency: calls and duration percentiles per service and endpoint, the most called first', async () => {
    assert.deepEqual(await report('api-latency'), [
      { service: 'nova', method: 'GET', path: '/v2.1/servers/detail', calls: 5, p50: 300, p90: 760, p95: 880, p99: 976 },
      { service: 'nova', method: 'DELETE', path: '/v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/b9000564-fe1a-409b-b8cc-1e88b294cd1d', calls: 1, p50: 253.438, p90: 253.438, p95: 253.438, p99: 253.438 },
      { service: 'nova', method: 'GET', path: '/v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail', calls: 1, p50: 247.7829, p90: 247.7829, p95: 247.7829, p99: 247.7829 },
      { service: 'glance', method: 'GET', path: '/v2/images', calls: 2, p50: 24.2825, p90: 27.6589, p95: 28.08095, p99: 28.41859 },
      { service: 'glance', method: 'GET', path: '/versions', calls: 1, p50: 1.388, p90: 1.388, p95: 1.388, p99: 1.388 },
      { service: 'keystone', method: 'GET', path: '/v3/auth/tokens', calls: 1, p50: 65.399, p90: 65.399, p95: 65.399, p99: 65.399 },
      { service: 'neutron', method: 'GET', path: '/v2.0/subnets', calls: 1, p50: 26.5512, p90: 26.5512, p95: 26.5512, p99: 26.5512 },
    ]);
    assert.deepEqual((await report('api-latency', { size: 1 })).map((r) => r.path), ['/v2.1/servers/detail']);
  });

  test('warnings: the latest WARNING-or-higher events with their request and exception', async () => {
    assert.deepEqual(await report('warnings', { from: '2025-01-01T00:00:00Z', to: '2026-05-01T00:00:00Z', size: 2 }), [
      {
        timestamp: '2026-04-04T20:48:22.000Z',
        'log.level': 'WARNING',
        'service.name': 'nova',
        'host.name': 'train',
        transaction_id: 'req-1cf4bf5c-2f74-4be0-a18d-51ff81df57dd',
        cloud_instance_id: null,
        error_type: null,
        message: 'Failed to get minimum service version for cell 4f495a21-294a-4051-9a3d-8b34a250bbb4',
      },
      {
        timestamp: '2025-07-21T11:57:24.729Z',
        'log.level': 'WARNING',
        'service.name': 'cinder',
        'host.name': 'vm',
        transaction_id: 'req-47565f8f-6b63-4389-a109-9e85fe74dcd4',
        cloud_instance_id: null,
        error_type: 'keystonemiddleware.auth_token._exceptions.InvalidToken',
        message: 'Authorization failed for token: keystonemiddleware.auth_token._exceptions.InvalidToken: Token authorization failed',
      },
    ]);
    const rollout = await report('warnings', { from: '2026-06-01T00:00:00Z', to: '2026-06-02T00:00:00Z', size: 100 });
    assert.equal(rollout.length, 9, 'the eight exceptions and the warning; not the INFO access lines');
  });

  test('the command takes --at', async () => {
    const saved = process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
    process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = indexPrefix;
    try {
      let text = '';
      await reportCommand(undefined, { write: (s: string) => (text += s) }).parseAsync(['ops', 'exceptions-rollout', '--from', '2026-06-01T11:00:00Z', '--to', '2026-06-01T12:30:00Z', '--at', '2026-06-01T12:00:00Z', '--json'], { from: 'user' });
      assert.deepEqual((JSON.parse(text) as ReportRow[]).map((r) => [r.window, r.exceptions]), [
        ['before', 2],
        ['after', 6],
      ]);
    } finally {
      if (saved === undefined) delete process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
      else process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = saved;
    }
  });
});
