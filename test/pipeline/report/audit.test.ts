import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { reportCommand } from '../../../app/cli/commands/report.js';
import { auditReport, dateMathBefore } from '../../../pipeline/report/audit.js';
import { runReport, type ReportParams } from '../../../pipeline/report/panel.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { dropEvents, eventsOf, fixtureEvents, indexEvents } from '../../support/fixture-events.js';
import { esClient, uniqueName } from '../../support/world.js';

const all: Partial<ReportParams> = { from: '2000-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' };

/** The fixtures hold no refusal: this is keystonemiddleware's os-stop response turned into bob's DELETE that nova refused with 403. */
function refusedDelete(): string {
  const fixture = readFileSync(path.join(projectRoot, 'test/fixtures/openstack-audit/keystonemiddleware-audit.log'), 'utf8').trim().split('\n').pop() as string;
  const at = fixture.indexOf('] {') + 2;
  const notification = JSON.parse(fixture.slice(at)) as { message_id: string; timestamp: string; payload: Record<string, unknown> & { initiator: Record<string, unknown>; reason: Record<string, unknown> } };
  notification.message_id = '0d3c1f5e-7a9b-4c2d-8e6f-1a2b3c4d5e6f';
  notification.timestamp = '2026-11-20 09:00:00.000001';
  Object.assign(notification.payload, { id: '7e1f0a2b-3c4d-5e6f-8a9b-0c1d2e3f4a5b', eventTime: '2026-11-20T09:00:00.000000+0000', action: 'delete', outcome: 'failure', requestPath: '/v2.1/servers/0a6f5c2e-4b1d-4e8f-9a3c-7d2e1f0b9c8a' });
  Object.assign(notification.payload.initiator, { id: 'bob', name: 'bob', request_id: 'req-4d5e6f70-8192-4a3b-9c4d-5e6f708192a3' });
  notification.payload.reason.reasonCode = '403';
  return `${fixture.slice(0, at).replace('2026-11-22 11:06:21.489', '2026-11-20 09:00:00.000')}${JSON.stringify(notification)}\n`;
}

describe('tally report audit on the real Elasticsearch: every ROR and OpenStack audit fixture', { timeout: 90_000 }, () => {
  const client = esClient();
  const indexPrefix = `${uniqueName('tally-report-audit')}-`;
  const records = [...fixtureEvents('ror-audit'), ...fixtureEvents('openstack-audit'), ...eventsOf('openstack-audit', [{ path: '/var/log/nova/audit.log', text: refusedDelete() }])];
  const report = (panel: string, params: Partial<ReportParams> = {}) => runReport(client, auditReport, panel, { indexPrefix, params: { ...all, ...params } }).then((r) => r.rows);

  before(async () => {
    assert.equal(records.length, 39);
    await indexEvents(client, indexPrefix, records);
  });
  after(async () => {
    await dropEvents(client, indexPrefix);
    await client.close();
  });

  test('active-users: the distinct users of the 7 days up to --to (7-day actives)', async () => {
    // ROR, 2012-03-31 to 2012-04-07: infra_admin01, tenant_admin01 (tenants tab, usage-charge tab), acct_api (accounting API), tenant_user07 (dashboard)
    assert.deepEqual(await report('active-users', { from: '2012-04-01T00:00:00Z', to: '2012-04-07T00:00:00Z' }), [{ since: '2012-03-31T00:00:00.000Z', active_users: 4, events: 19 }]);
    // 2012-03-26 to 2012-04-02: infra_admin01, tenant_admin02 (the rotated generation) and tenant_admin01; the temporary-account line has no user
    assert.deepEqual(await report('active-users', { to: '2012-04-02T00:00:00Z' }), [{ since: '2012-03-26T00:00:00.000Z', active_users: 3, events: 11 }]);
    // OpenStack: keystonemiddleware's two events of alice's os-stop, and bob's refused delete
    assert.deepEqual(await report('active-users', { to: '2026-11-25T00:00:00Z' }), [{ since: '2026-11-18T00:00:00.000Z', active_users: 2, events: 3 }]);
    assert.deepEqual(await report('active-users', { to: '2010-01-01T00:00:00Z' }), [{ since: '2009-12-25T00:00:00.000Z', active_users: 0, events: 0 }]);
    assert.equal(dateMathBefore('now', '7d'), 'now-7d');
    assert.equal(dateMathBefore('now-1d/d', '7d'), 'now-1d/d-7d');
    assert.equal(dateMathBefore('2012-04-07', '7d'), '2012-04-07||-7d');
  });

  test('largest-users: the most audit events, ties by id; distinct actions', async () => {
    assert.deepEqual(await report('largest-users', { size: 4 }), [
      { 'user.id': 'infra_admin01', events: 10, actions: 10 },
      { 'user.id': 'tenant_admin01', events: 7, actions: 7 },
      { 'user.id': 'acct_api', events: 3, actions: 2 },
      { 'user.id': 'c9f76d3c31e142af9291de2935bde98a', events: 3, actions: 3 },
    ]);
  });

  test('hourly-activity: events and users per hour with events, in the 4 days up to --to (within --from)', async () => {
    // 2012-04-02T23:59:59 to 2012-04-06T23:59:59: the hours of 2012-04-01 are outside the 4 days
    assert.deepEqual(await report('hourly-activity', { from: '2012-04-01T00:00:00Z', to: '2012-04-06T23:59:59Z' }), [
      { hour: '2012-04-03T02:00:00.000Z', events: 5, users: 1 },
      { hour: '2012-04-04T04:00:00.000Z', events: 2, users: 1 },
      { hour: '2012-04-05T00:00:00.000Z', events: 3, users: 1 },
      { hour: '2012-04-06T08:00:00.000Z', events: 1, users: 1 },
    ]);
    assert.deepEqual(await report('hourly-activity', { from: '2012-04-01T00:00:00Z', to: '2012-04-04T23:59:59Z' }), [
      { hour: '2012-04-01T09:00:00.000Z', events: 8, users: 2 },
      { hour: '2012-04-01T23:00:00.000Z', events: 1, users: 0 },
      { hour: '2012-04-03T02:00:00.000Z', events: 5, users: 1 },
      { hour: '2012-04-04T04:00:00.000Z', events: 2, users: 1 },
    ]);
    assert.deepEqual(await report('hourly-activity', { from: '2012-04-03T03:00:00Z', to: '2012-04-04T23:59:59Z' }), [{ hour: '2012-04-04T04:00:00.000Z', events: 2, users: 1 }], '--from narrows the window');
  });

  test('failures-by-user: failed and refused actions across ROR results, Keystone authentication, Nova audit lines and notifications', async () => {
    assert.deepEqual(await report('failures-by-user'), [
      { 'user.id': 'bob', action: 'delete', events: 1, failed: 1, denied: 1 },
      { 'user.id': 'bob', action: 'terminate_instances', events: 1, failed: 1, denied: 0 },
      { 'user.id': '18b9a79bb9d14fa595c67ee981f35158', action: 'authenticate', events: 1, failed: 1, denied: 0 },
      { 'user.id': '73a19db6-e26b-5313-a6df-58d297fa652e', action: 'authenticate', events: 1, failed: 1, denied: 0 },
      { 'user.id': 'fake', action: 'instance.create.error', events: 1, failed: 1, denied: 0 },
      { 'user.id': 'infra_admin01', action: 'updatePMaster', events: 1, failed: 1, denied: 0 },
      { 'user.id': 'tenant_admin01', action: 'moveUser', events: 1, failed: 1, denied: 0 },
      { 'user.id': 'tenant_admin02', action: 'deleteUser', events: 1, failed: 1, denied: 0 },
    ]);
    assert.deepEqual(await report('failures-by-user', { from: '2012-01-01T00:00:00Z', to: '2012-06-30T00:00:00Z', size: 1 }), [
      { 'user.id': 'infra_admin01', action: 'updatePMaster', events: 1, failed: 1, denied: 0 },
    ]);
  });

  test('tenant-operations: ROR operations per tenant and type; OpenStack projects are not ROR tenants', async () => {
    const rows = await report('tenant-operations', { size: 10 });
    const perTenant = new Map<string, number>();
    for (const row of rows) perTenant.set(String(row.tenant), (perTenant.get(String(row.tenant)) ?? 0) + Number(row.operations));
    assert.deepEqual([...perTenant], [['ror-infra', 13], ['tenantA', 9], ['tenantOld', 1]]);
    assert.deepEqual(rows.filter((r) => r.tenant === 'tenantA'), [
      { tenant: 'tenantA', action: 'createUser', operations: 2, failed: 0 },
      { tenant: 'tenantA', action: 'dispUsageStatus', operations: 1, failed: 0 },
      { tenant: 'tenantA', action: 'downloadFile', operations: 1, failed: 0 },
      { tenant: 'tenantA', action: 'listTenantCharge', operations: 1, failed: 0 },
      { tenant: 'tenantA', action: 'listUser', operations: 1, failed: 0 },
      { tenant: 'tenantA', action: 'moveUser', operations: 1, failed: 1 },
      { tenant: 'tenantA', action: 'updatePassword', operations: 1, failed: 0 },
      { tenant: 'tenantA', action: 'updateUser', operations: 1, failed: 0 },
    ]);
    assert.equal(rows.reduce((n, r) => n + Number(r.operations), 0), records.filter((r) => (r.value.event as { module: string }).module === 'ror').length);
  });

  test('trail: the latest events, who, what, from where, on what', async () => {
    assert.deepEqual(await report('trail', { size: 2 }), [
      {
        timestamp: '2026-11-22T11:06:21.486Z',
        'user.id': '6b8c4a9e2f5d4c1b9a7e3d2c1b0a9f8e',
        'project.name': null,
        'project.id': '3f1e2d4c5b6a47988796a5b4c3d2e1f0',
        'event.action': 'update/os-stop',
        'event.outcome': 'success',
        'service.name': 'nova',
        'source.ip': '192.0.2.10',
        'target.type': 'service/compute/servers/server/action',
        'target.id': '0a6f5c2e-4b1d-4e8f-9a3c-7d2e1f0b9c8a',
        transaction_id: 'req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c',
      },
      {
        timestamp: '2026-11-22T11:06:21.470Z',
        'user.id': '6b8c4a9e2f5d4c1b9a7e3d2c1b0a9f8e',
        'project.name': null,
        'project.id': '3f1e2d4c5b6a47988796a5b4c3d2e1f0',
        'event.action': 'update/os-stop',
        'event.outcome': null,
        'service.name': 'nova',
        'source.ip': '192.0.2.10',
        'target.type': 'service/compute/servers/server/action',
        'target.id': '0a6f5c2e-4b1d-4e8f-9a3c-7d2e1f0b9c8a',
        transaction_id: 'req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c',
      },
    ]);
  });

  test('the command prints the 7-day actives as a table', async () => {
    const saved = process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
    process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = indexPrefix;
    try {
      let text = '';
      await reportCommand(undefined, { write: (s: string) => (text += s) }).parseAsync(['audit', 'active-users', '--from', '2012-04-01', '--to', '2012-04-07'], { from: 'user' });
      assert.equal(text, ['since                     active_users  events', '------------------------  ------------  ------', '2012-03-31T00:00:00.000Z             4      19', ''].join('\n'));
    } finally {
      if (saved === undefined) delete process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
      else process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = saved;
    }
  });
});
