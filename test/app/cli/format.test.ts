import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { convertStream } from '../../../app/cli/commands/convert.js';
import { expandCommand, formatCommand, type FormatIo } from '../../../app/cli/commands/format.js';
import { isTallyError } from '../../../pipeline/errors.js';
import { normaliserFor } from '../../../pipeline/normalise/index.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { dropEvents, fixtureEvents, indexEvents } from '../../support/fixture-events.js';
import { esClient, uniqueName } from '../../support/world.js';

/** What `tally convert --kind <kind> --name <fixture>` prints for a fixture file. */
async function converted(kind: string, name: string): Promise<string> {
  const file = path.join(projectRoot, 'test/fixtures', kind, name);
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await convertStream(Readable.from([readFileSync(file)]), out, new PassThrough(), { normaliser: normaliserFor(kind), envelope: 'auto', name: `test/fixtures/${kind}/${name}`, maxLineBytes: 524_288 });
  return text;
}

async function run(command: (io: FormatIo) => ReturnType<typeof formatCommand>, args: string[], input = ''): Promise<{ out: string; err: string; exitCode: typeof process.exitCode }> {
  let out = '';
  let err = '';
  const saved = process.exitCode;
  try {
    await command({ input: Readable.from([input]), output: { write: (s: string) => (out += s) }, errors: { write: (s: string) => (err += s) } }).parseAsync(args, { from: 'user' });
    return { out, err, exitCode: process.exitCode };
  } finally {
    process.exitCode = saved;
  }
}

test('tally convert | tally format: one summary line per event, in input order', async () => {
  const { out, err, exitCode } = await run(formatCommand, [], await converted('oslo-log', 'nova-api.log'));
  assert.equal(err, '');
  assert.equal(exitCode, undefined);
  assert.deepEqual(out.split('\n'), [
    '2017-05-16T00:00:00.008Z INFO nova [req-38101a0b-2096-447d-96ea-a692162415ae] 10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1" status: 200 len: 1893 time: 0.2477829',
    '2017-05-16T00:00:17.504Z INFO nova [req-c53a921a-16c7-422e-8c9d-c922a720d047] 10.11.10.1 "DELETE /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/b9000564-fe1a-409b-b8cc-1e88b294cd1d HTTP/1.1" status: 204 len: 203 time: 0.2534380',
    '2020-10-30T16:32:54.059Z ERROR nova [req-99a5cda6-7c8e-4cba-88f4-37b3447d4dbd] MessageUndeliverable error, source exception: Basic.return: (312) NO_ROUTE, routing_key: reply_d2ac09b0671840d39da6a9c718b5a63f, exchange: : : oslo_messaging.exceptions.MessageUndeliverable',
    '',
  ]);
});

test('a format string, and audit events with their own summary', async () => {
  const audit = await converted('ror-audit', 'ctsec_audit_a.log');
  const custom = await run(formatCommand, ['-f', '{timestamp:.10} {user.id:>14} {event.action:14}|{event.outcome}'], audit);
  assert.deepEqual(custom.out.split('\n').slice(0, 3), ['2012-04-01  infra_admin01 createOrg     |success', '2012-04-01 tenant_admin01 createUser    |success', '2012-04-01 tenant_admin01 updateUser    |success']);
  const summary = await run(formatCommand, [], audit);
  assert.equal(summary.out.split('\n')[3], '2012-04-01T09:07:33.980Z failure ror [-] tenant_admin01 tenantA moveUser user02');
  await assert.rejects(run(formatCommand, ['-f', '{oops'], audit), (error) => isTallyError(error, 'USAGE'));
});

test('--stack prints tracebacks under their event; a line that is not an event is reported and the exit code is 1', async () => {
  const event = JSON.stringify({ timestamp: '2024-01-01T00:00:00.000Z', log: { level: 'ERROR' }, service: { name: 'nova' }, message: 'boom', error_stack_trace: 'Traceback (most recent call last):\nValueError: boom' });
  const { out, err, exitCode } = await run(formatCommand, ['--stack'], `${event}\nnot json\n[1]\n\n${event}\n`);
  assert.equal(out, ['2024-01-01T00:00:00.000Z ERROR nova [-] boom', '    Traceback (most recent call last):', '    ValueError: boom', '2024-01-01T00:00:00.000Z ERROR nova [-] boom', '    Traceback (most recent call last):', '    ValueError: boom', ''].join('\n'));
  const problems = err.trim().split('\n').map((l) => JSON.parse(l) as { line: number; code: string; message: string; original: string });
  assert.deepEqual(problems.map((p) => [p.line, p.code, p.original]), [
    [2, 'RECORD_UNPARSABLE', 'not json'],
    [3, 'RECORD_UNPARSABLE', '[1]'],
  ]);
  assert.match(problems[1]?.message ?? '', /a JSON array, not an object/);
  assert.equal(exitCode, 1);
});

test('tally expand: every field of each event, events separated by a blank line', async () => {
  const { out } = await run(expandCommand, [], await converted('openstack-audit', 'nova-audit.log'));
  const events = out.split('\n\n');
  assert.equal(events.length, 3);
  assert.match(events[1] as string, /^id: 93bd7a9ae17be7b332e0cfd3bcddb91f\ntimestamp: 2011-02-03T10:15:40.002Z\nevent:\n  kind: event\n/);
  assert.ok((events[1] as string).includes('\n    exc_info: |\n      Traceback (most recent call last):\n'));
});

describe('tally format and tally expand --index on the real Elasticsearch', { timeout: 60_000 }, () => {
  const client = esClient();
  const indexPrefix = `${uniqueName('tally-format')}-`;
  const saved = process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
  before(async () => {
    await indexEvents(client, indexPrefix, [...fixtureEvents('oslo-log'), ...fixtureEvents('ror-audit')]);
    process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = indexPrefix;
  });
  after(async () => {
    if (saved === undefined) delete process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
    else process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = saved;
    await dropEvents(client, indexPrefix);
    await client.close();
  });

  test('a Lucene query over ops.logs, oldest first, with --size and the range', async () => {
    const { out } = await run(formatCommand, ['--index', 'ops', '--query', 'log.level:ERROR AND service.name:nova', '--from', '2020-01-01', '--to', '2024-01-01', '-f', '{timestamp} {transaction_id} {error_type}']);
    assert.equal(out, [
      '2020-10-30T16:32:54.059Z req-99a5cda6-7c8e-4cba-88f4-37b3447d4dbd oslo_messaging.exceptions.MessageUndeliverable',
      '2023-01-24T01:05:42.399Z req-78337918-e580-4b64-ac73-227fb24c19b2 -',
      '2023-06-18T08:42:58.702Z - greenlet.error',
      '2023-09-22T18:53:31.267Z - libvirt.libvirtError',
      '2023-11-16T10:42:42.444Z req-56dbf76c-524c-455d-9c64-d3474509e8d0 nova.exception.InvalidConfiguration',
      '',
    ].join('\n'));
    assert.equal((await run(formatCommand, ['--index', 'ops', '--query', 'log.level:ERROR AND service.name:nova', '--from', '2020-01-01', '--to', '2024-01-01', '--size', '1', '-f', '{transaction_id}'])).out, 'req-99a5cda6-7c8e-4cba-88f4-37b3447d4dbd\n');
  });

  test('the audit index, expanded; a wrong family or query is an error', async () => {
    const { out } = await run(expandCommand, ['--index', 'audit', '--query', 'event.action:moveUser']);
    assert.match(out, /^id: [0-9a-f]{32}\ntimestamp: 2012-04-01T09:07:33.980Z\n/);
    assert.ok(out.includes('\ndetails:\n  userid: user02\n'));
    await assert.rejects(run(formatCommand, ['--index', 'nope']), (error) => isTallyError(error, 'USAGE') && /ops or audit/.test(error.message));
    await assert.rejects(run(formatCommand, ['--index', 'ops', '--query', 'log.level:(']), (error) => isTallyError(error, 'ES_PERMANENT'));
  });
});
