import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { reportCommand } from '../../../app/cli/commands/report.js';
import { isTallyError } from '../../../pipeline/errors.js';
import { valueAt } from '../../../pipeline/format/field-path.js';
import { levelThreshold, listRequests, renderStory, requestStory, type RequestRow } from '../../../pipeline/report/requests.js';
import { dropEvents, eventsOf, fixtureEvents, indexEvents } from '../../support/fixture-events.js';
import { esClient, uniqueName } from '../../support/world.js';

const globalId = 'req-2f1c0a3e-9b7d-4c51-8e26-5d4a7b9c0e13';
const computeId = 'req-8d3e6f21-4a5b-4c7d-9e8f-0a1b2c3d4e5f';
const cinderId = 'req-5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d';
const auditedId = 'req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c';

/**
 * The fixtures' nova-compute request req-8d3e6f21 carries the global request id req-2f1c0a3e.
 * These two lines, written for this test in the fixtures' bracket format, are the rest of that
 * global request: nova-api, where it started (its own request id is the global one), and
 * cinder-api, which nova called while building the instance.
 */
const novaApi =
  '2024-02-29 14:03:09.871 3012 INFO nova.osapi_compute.wsgi.server [None req-2f1c0a3e-9b7d-4c51-8e26-5d4a7b9c0e13 6b8c4a9e2f5d4c1b9a7e3d2c1b0a9f8e 3f1e2d4c5b6a47988796a5b4c3d2e1f0 - - default default] 10.0.0.5 "POST /v2.1/servers HTTP/1.1" status: 202 len: 862 microversion: 2.79 time: 0.9120450';
const cinderApi =
  '2024-02-29 14:03:10.604 2210 INFO cinder.api.openstack.wsgi [req-2f1c0a3e-9b7d-4c51-8e26-5d4a7b9c0e13 req-5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d 6b8c4a9e2f5d4c1b9a7e3d2c1b0a9f8e 3f1e2d4c5b6a47988796a5b4c3d2e1f0 - - default default] POST http://controller:8776/v3/3f1e2d4c5b6a47988796a5b4c3d2e1f0/attachments';

const everything = { from: '2000-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' };

describe('request tracing (LogCAS) on the real Elasticsearch', { timeout: 90_000 }, () => {
  const client = esClient();
  const indexPrefix = `${uniqueName('tally-requests')}-`;
  const records = [
    ...fixtureEvents('ror-audit'),
    ...fixtureEvents('openstack-audit'),
    ...fixtureEvents('oslo-log'),
    ...eventsOf('oslo-log', [
      { path: '/var/log/nova/nova-api.log', text: `${novaApi}\n` },
      { path: '/var/log/cinder/cinder-api.log', text: `${cinderApi}\n` },
    ]),
  ];
  const list = (query: Partial<Parameters<typeof listRequests>[1]> = {}) => listRequests(client, { indexPrefix, ...everything, size: 100, ...query });

  before(async () => {
    await indexEvents(client, indexPrefix, records);
  });
  after(async () => {
    await dropEvents(client, indexPrefix);
    await client.close();
  });

  test("a global request's story: all its events in time order across nova-api, nova-compute and cinder-api, the traceback whole", async () => {
    const story = await requestStory(client, { indexPrefix, id: globalId, size: 1000 });
    assert.deepEqual(story.traces, [], 'the global id is its own root');
    assert.deepEqual(
      story.events.map((e) => [valueAt(e, 'timestamp'), valueAt(e, 'process.name'), valueAt(e, 'log.level'), valueAt(e, 'transaction_id')]),
      [
        ['2024-02-29T14:03:09.871Z', 'nova-api', 'INFO', globalId],
        ['2024-02-29T14:03:10.118Z', 'nova-compute', 'INFO', computeId],
        ['2024-02-29T14:03:10.604Z', 'cinder-api', 'INFO', cinderId],
        ['2024-02-29T14:03:11.402Z', 'nova-compute', 'ERROR', computeId],
        ['2024-02-29T14:03:11.530Z', 'nova-compute', 'WARNING', computeId],
      ],
    );
    const stack = String(valueAt(story.events[3], 'error_stack_trace')).split('\n');
    assert.equal(stack.length, 30, 'the 30-line traceback, joined from its exception-prefix lines');
    assert.equal(stack[0], 'Traceback (most recent call last):');
    assert.match(stack[stack.length - 1] as string, /^libvirt\.libvirtError: internal error: qemu unexpectedly closed the monitor/);

    const text = renderStory(story);
    const lines = text.split('\n');
    assert.equal(lines[0], `request ${globalId}: 5 events from 2024-02-29T14:03:09.871Z to 2024-02-29T14:03:11.530Z, services cinder, nova`);
    assert.equal(lines[1], `2024-02-29T14:03:09.871Z INFO     nova-api       vm [${globalId}] 10.0.0.5 "POST /v2.1/servers HTTP/1.1" status: 202 len: 862 microversion: 2.79 time: 0.9120450`);
    assert.match(lines[4] as string, new RegExp(`^2024-02-29T14:03:11.402Z ERROR    nova-compute   vm \\[${computeId}\\] Instance failed to spawn`));
    assert.deepEqual(lines.slice(5, 5 + stack.length), stack.map((l) => `    ${l}`), 'the stack trace as real lines under its event');
    assert.equal(lines.length, 1 + 5 + stack.length + 1, 'heading, five events, the trace, the final newline');
  });

  test("one service's part of a global request tells the whole global request", async () => {
    for (const id of [computeId, cinderId]) {
      const story = await requestStory(client, { indexPrefix, id, size: 1000 });
      assert.deepEqual(story.traces, [globalId], id);
      assert.equal(story.events.length, 5, id);
      assert.match(renderStory(story), new RegExp(`^request ${id} \\(global request ${globalId}\\): 5 events`));
    }
  });

  test('a request across both models: the API audit events, then the compute log lines with their tracebacks', async () => {
    const story = await requestStory(client, { indexPrefix, id: auditedId, size: 1000 });
    assert.deepEqual(
      story.events.map((e) => [valueAt(e, 'timestamp'), valueAt(e, 'event.action') ?? valueAt(e, 'log.level'), valueAt(e, 'event.outcome') ?? null]),
      [
        ['2026-11-22T11:06:21.470Z', 'update/os-stop', null],
        ['2026-11-22T11:06:21.486Z', 'update/os-stop', 'success'],
        ['2026-11-22T11:08:52.619Z', 'ERROR', null],
        ['2026-11-22T11:08:52.731Z', 'ERROR', null],
        ['2026-11-22T11:09:03.000Z', 'INFO', null],
      ],
    );
    const text = renderStory(story).split('\n');
    assert.equal(text[2], `2026-11-22T11:06:21.486Z AUDIT    nova           vm [${auditedId}] update/os-stop success by alice`);
    assert.equal(text.filter((l) => l === '    RuntimeError: Connection to libvirt lost').length, 2);
    const limited = await requestStory(client, { indexPrefix, id: auditedId, size: 3 });
    assert.equal(limited.events.length, 3);
    assert.equal(limited.truncated, true);
    assert.match(renderStory(limited), /more events than --size 3/);
    assert.equal(renderStory(await requestStory(client, { indexPrefix, id: 'req-00000000-0000-0000-0000-000000000000', size: 10 })), `request req-00000000-0000-0000-0000-000000000000: no events in ${indexPrefix}ops-logs-*,${indexPrefix}audit-events-*\n`);
  });

  test('the request list: every request once, with its first and last time, services, highest level, log and audit events', async () => {
    const page = await list();
    assert.equal(page.next, undefined);
    assert.equal(page.rows.length, 34);
    assert.deepEqual(page.rows.map((r) => r.transaction_id), [...page.rows.map((r) => r.transaction_id)].sort(), 'in request id order');
    const row = (id: string): RequestRow | undefined => page.rows.find((r) => r.transaction_id === id);
    assert.deepEqual(row(globalId), { transaction_id: globalId, trace_id: null, first: '2024-02-29T14:03:09.871Z', last: '2024-02-29T14:03:09.871Z', services: 'nova', level: 'INFO', events: 1, audit: 0 });
    assert.deepEqual(row(computeId), { transaction_id: computeId, trace_id: globalId, first: '2024-02-29T14:03:10.118Z', last: '2024-02-29T14:03:11.530Z', services: 'nova', level: 'ERROR', events: 3, audit: 0 });
    assert.deepEqual(row(auditedId), {
      transaction_id: auditedId,
      trace_id: 'req-2b4d6f8a-0c2e-4a6c-8e0a-2c4e6a8c0e2a',
      first: '2026-11-22T11:06:21.470Z',
      last: '2026-11-22T11:09:03.000Z',
      services: 'nova',
      level: 'ERROR',
      events: 3,
      audit: 2,
    });
    assert.deepEqual(row('req-f7e044d7-546b-4eea-bccc-c4c2ebd4b7d4'), {
      transaction_id: 'req-f7e044d7-546b-4eea-bccc-c4c2ebd4b7d4',
      trace_id: null,
      first: '2025-09-30T04:01:53.295Z',
      last: '2025-09-30T04:01:53.295Z',
      services: 'keystone',
      level: null,
      events: 0,
      audit: 1,
    });
    assert.equal((await list({ from: '2024-02-29T14:03:10.000Z', to: '2024-02-29T14:03:11.000Z' })).rows.map((r) => r.transaction_id).join(' '), `${cinderId} ${computeId}`, 'the range picks');
  });

  test('--level and --service pick requests, which are still counted whole', async () => {
    const errors = await list({ level: 'ERROR', service: 'nova' });
    assert.deepEqual(errors.rows.map((r) => [r.transaction_id, r.level, r.events]), [
      [auditedId, 'ERROR', 3],
      ['req-56dbf76c-524c-455d-9c64-d3474509e8d0', 'ERROR', 1],
      ['req-78337918-e580-4b64-ac73-227fb24c19b2', 'ERROR', 1],
      [computeId, 'ERROR', 3],
      ['req-99a5cda6-7c8e-4cba-88f4-37b3447d4dbd', 'ERROR', 1],
      ['req-faccb823-f4de-4b6a-a5df-654a8e541507', 'ERROR', 2],
    ]);
    assert.deepEqual((await list({ level: 'warning', service: 'nova' })).rows.length, 7, 'WARNING adds req-1cf4bf5c');
    assert.deepEqual((await list({ level: '40' })).rows.length, 10, 'six nova, one cinder, three neutron');
    assert.deepEqual((await list({ service: 'cinder' })).rows.map((r) => [r.transaction_id, r.trace_id, r.level]), [
      ['req-47565f8f-6b63-4389-a109-9e85fe74dcd4', null, 'WARNING'],
      [cinderId, globalId, 'INFO'],
      ['req-7488b9f7-8dd4-4df5-bdbc-441ce123ef96', 'req-e4e454d2-8922-4a2a-abd9-9b67af159199', 'ERROR'],
      ['req-757c8e35-c498-438f-be57-dc8a302ad923', 'req-e4e454d2-8922-4a2a-abd9-9b67af159199', 'INFO'],
    ]);
    assert.equal(levelThreshold('WARN'), 30);
    assert.throws(() => levelThreshold('loud'), (error) => isTallyError(error, 'USAGE') && /--level must be a log level/.test(error.message));
  });

  test('paging: pages of --size, each continuing after the cursor the last one printed, cover the list exactly once', async () => {
    const whole = (await list()).rows.map((r) => r.transaction_id);
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await list({ size: 5, ...(after !== undefined ? { after } : {}) });
      assert.ok(page.rows.length <= 5);
      seen.push(...page.rows.map((r) => r.transaction_id));
      after = page.next;
      pages += 1;
    } while (after !== undefined);
    assert.equal(pages, 7, '34 requests: six full pages and one of four');
    assert.deepEqual(seen, whole);
  });

  test('the commands: a table with the next cursor, the story, JSON lines for tally format; usage errors', async () => {
    const saved = process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
    process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = indexPrefix;
    try {
      const run = async (...args: string[]): Promise<string> => {
        let text = '';
        await reportCommand(undefined, { write: (s: string) => (text += s) }).parseAsync(args, { from: 'user' });
        return text;
      };
      const table = (await run('requests', '--from', '2024-02-29T14:00:00Z', '--to', '2024-02-29T15:00:00Z', '--size', '2')).split('\n');
      assert.match(table[0] as string, /^transaction_id\s+trace_id\s+first\s+last\s+services\s+level\s+events\s+audit$/);
      assert.equal(table.length, 6);
      assert.equal(table[4], `next page: --after ${cinderId}`);
      assert.match(await run('requests', '--from', '2024-02-29T14:00:00Z', '--to', '2024-02-29T15:00:00Z', '--size', '2', '--after', computeId), /^transaction_id[^\n]*\n[- ]+\n\(no requests in/);
      const json = JSON.parse(await run('requests', '--service', 'cinder', '--level', 'ERROR', '--from', '2000-01-01', '--json')) as { rows: RequestRow[]; next: string | null };
      assert.deepEqual(json.rows.map((r) => r.transaction_id), ['req-7488b9f7-8dd4-4df5-bdbc-441ce123ef96']);
      assert.equal(json.next, null);

      const story = await run('request', computeId);
      assert.match(story, new RegExp(`^request ${computeId} \\(global request ${globalId}\\): 5 events`));
      const lines = (await run('request', globalId, '--json')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 5);
      assert.equal(valueAt(lines[2], 'process.name'), 'cinder-api');
      assert.equal(await run('request', globalId, '--format', '{process.name}', '--to', '2024-02-29T14:03:10.200Z'), `request ${globalId}: 2 events from 2024-02-29T14:03:09.871Z to 2024-02-29T14:03:10.118Z, services nova\nnova-api\nnova-compute\n`);
      await assert.rejects(run('requests', '--level', 'loud'), (error) => isTallyError(error, 'USAGE'));
      await assert.rejects(run('request', globalId, '--size', '0'), (error) => isTallyError(error, 'USAGE'));
      await assert.rejects(run('request', globalId, '--format', '{oops'), (error) => isTallyError(error, 'USAGE'));
    } finally {
      if (saved === undefined) delete process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
      else process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = saved;
    }
  });
});
