import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { reportCommand } from '../../../app/cli/commands/report.js';
import { neutraliseCell, renderCsv } from '../../../pipeline/report/csv.js';
import type { ReportColumn, ReportRow } from '../../../pipeline/report/panel.js';
import { dropEvents, eventsOf, indexEvents } from '../../support/fixture-events.js';
import { esClient, uniqueName } from '../../support/world.js';

const formulaStart = /^[=+\-@\t\r]/;
const columns: ReportColumn[] = [
  { key: 'user', title: 'user' },
  { key: 'n', title: 'n', numeric: true },
];

test('a cell a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers', () => {
  for (const hostile of ["=cmd|' /C calc'!A0", '+1+1', '-2+3', '@SUM(A1:A9)', '\t=1', '\r=1', '=HYPERLINK("http://x","y")']) assert.equal(neutraliseCell(hostile), `'${hostile}`);
  assert.equal(neutraliseCell('alice'), 'alice');
  assert.equal(neutraliseCell(-5), '-5');
  assert.equal(neutraliseCell(null), '');
});

test('renderCsv quotes what needs quoting and reads back cell for cell', () => {
  const rows: ReportRow[] = [
    { user: "=cmd|' /C calc'!A0", n: 1 },
    { user: 'a, "quoted"\nsecond line', n: -2.5 },
    { user: null, n: 3 },
  ];
  const text = renderCsv(columns, rows);
  assert.deepEqual(parse(text), [
    ['user', 'n'],
    ["'=cmd|' /C calc'!A0", '1'],
    ['a, "quoted"\nsecond line', '-2.5'],
    ['', '3'],
  ]);
});

test('any text round-trips through CSV, and no cell of the output starts a formula', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ user: fc.oneof(fc.string(), fc.constantFrom('=1+1', '+x', '-y', '@z', '\t=', '\r=')), n: fc.oneof(fc.integer(), fc.constant(null)) }), { maxLength: 8 }), (rows) => {
      const cells = parse(renderCsv(columns, rows), { relax_column_count: false }) as string[][];
      assert.equal(cells.length, rows.length + 1);
      rows.forEach((row, i) => {
        const user = cells[i + 1]?.[0] ?? '';
        assert.ok(!formulaStart.test(user), JSON.stringify(user));
        assert.equal(formulaStart.test(row.user as string) ? user.slice(1) : user, row.user);
      });
    }),
    { numRuns: 300 },
  );
});

describe('tally report audit trail --format csv on the real Elasticsearch: ROR audit data with formula values', { timeout: 90_000 }, () => {
  const client = esClient();
  const indexPrefix = `${uniqueName('tally-report-csv')}-`;
  const ror = [
    "2012-04-01 09:06:10.517,=cmd|' /C calc'!A0,tenantA,updateUser,\"userid=\"\"user02\"\"&mail=\"\"=cmd|' /C calc'!A0\"\"\",success",
    '2012-04-01 09:07:10.517,@SUM(1+1),+tenantB,createUser,"userid=""-2+3""",success',
    '2012-04-01 09:08:10.517,tenant_admin01,tenantA,deleteUser,"userid=""user02""",success',
  ];
  const records = eventsOf('ror-audit', [{ path: '/var/log/ror/ctsec_audit_a.log', text: `${ror.join('\n')}\n` }]);

  before(async () => {
    assert.equal(records.length, 3);
    await indexEvents(client, indexPrefix, records);
  });
  after(async () => {
    await dropEvents(client, indexPrefix);
    await client.close();
  });

  test('the formula values are in the CSV as text, never as formulas', async () => {
    const saved = process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
    process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = indexPrefix;
    try {
      let text = '';
      await reportCommand(undefined, { write: (s: string) => (text += s) }).parseAsync(['audit', 'trail', '--from', '2012-01-01', '--to', '2012-12-31', '--format', 'csv'], { from: 'user' });
      const cells = parse(text) as string[][];
      assert.equal(cells[0]?.[1], 'user.id');
      assert.equal(cells.length, 4);
      for (const row of cells) for (const cell of row) assert.ok(!formulaStart.test(cell), `a cell starts a formula: ${JSON.stringify(cell)}`);
      const users = cells.slice(1).map((row) => row[1]);
      assert.deepEqual(users, ['tenant_admin01', "'@SUM(1+1)", "'=cmd|' /C calc'!A0"]);
      assert.ok(cells.some((row) => row[2] === "'+tenantB"), JSON.stringify(cells));
    } finally {
      if (saved === undefined) delete process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
      else process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = saved;
    }
  });

  test('--format refuses what it does not know', async () => {
    await assert.rejects(reportCommand(undefined, { write: () => undefined }).parseAsync(['audit', 'trail', '--format', 'xlsx'], { from: 'user' }), /--format must be one of table, json, csv/);
  });
});
