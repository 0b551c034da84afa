import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import fc from 'fast-check';
import { convertStream, type ConvertOptions, type ConvertRejection } from '../../../app/cli/commands/convert.js';
import { readEnvelope } from '../../../pipeline/envelope.js';
import { accountingNormaliser } from '../../../pipeline/normalise/accounting.js';
import { casoJsonNormaliser } from '../../../pipeline/normalise/caso-json.js';
import { projectRoot } from '../../../pipeline/paths.js';

const fixture = (name: string) => readFileSync(path.join(projectRoot, 'test/fixtures', name));
const main = path.join(projectRoot, 'dist/app/cli/main.js');
const options: ConvertOptions = { normaliser: accountingNormaliser, envelope: 'auto', name: '-', maxLineBytes: 524_288 };

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const jsonLines = <T>(text: string) => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);

async function convert(chunks: (Buffer | string)[], overrides: Partial<ConvertOptions> = {}) {
  const out = sink();
  const err = sink();
  const summary = await convertStream(Readable.from(chunks), out.stream, err.stream, { ...options, ...overrides });
  return { summary, records: jsonLines<Record<string, unknown>>(out.text()), rejections: jsonLines<ConvertRejection>(err.text()), stdout: out.text() };
}

function cli(args: string[], input: Buffer | string) {
  const result = spawnSync(process.execPath, [main, ...args], { input, encoding: 'utf8', cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, records: jsonLines<Record<string, unknown>>(result.stdout), rejections: () => jsonLines<ConvertRejection>(result.stderr) };
}

// ---- in process: the conversion itself

test('valid lines become JSON documents with ISO timestamps and ids, nothing on stderr', async () => {
  const { summary, records, rejections } = await convert([fixture('accounting/valid.ndjson')]);
  assert.deepEqual(rejections, []);
  assert.equal(records.length, 33);
  assert.deepEqual(summary, { lines: 33, records: 33, rejectedLines: 0 });
  for (const record of records) {
    assert.match(String(record.id), /^[0-9a-f]{32}$/);
    assert.match(String(record.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal((record.source as { input: string }).input, 'stdin');
  }
  assert.equal(new Set(records.map((r) => r.id)).size, records.length);
});

test('offsets are byte offsets of each line, whatever the chunks and line endings', async () => {
  const text = `${readFileSync(path.join(projectRoot, 'test/fixtures/accounting/valid.ndjson'), 'utf8').trimEnd().split('\n').slice(0, 6).join('\r\n')}\r\n`;
  const bytes = Buffer.from(text);
  const expected: number[] = [];
  for (let at = 0; at < bytes.length; at = bytes.indexOf(10, at) + 1) expected.push(at);
  const whole = await convert([bytes]);
  assert.deepEqual(whole.records.map((r) => (r.source as { offset: number }).offset), expected);
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), async (cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
      const chunks = points.slice(1).map((end, i) => bytes.subarray(points[i], end));
      assert.equal((await convert(chunks)).stdout, whole.stdout);
    }),
    { numRuns: 50 },
  );
});

test('every invalid line is one rejection on stderr with its line number, reasons and original text', async () => {
  const input = fixture('accounting/invalid.ndjson');
  const lines = input.toString('utf8').trimEnd().split('\n');
  const { summary, records, rejections } = await convert([input]);
  assert.deepEqual(records, []);
  assert.equal(summary.rejectedLines, lines.length);
  assert.deepEqual(rejections.map((r) => r.line), lines.map((_, i) => i + 1));
  rejections.forEach((rejection, i) => {
    assert.equal(rejection.original, lines[i]);
    assert.ok(rejection.reasons.length >= 1 && rejection.reasons.every((r) => r.code.startsWith('RECORD_') && / of - on host /.test(r.message)));
  });
});

test('blank lines are skipped but counted; a last line without newline is converted; --name names the file', async () => {
  const valid = readFileSync(path.join(projectRoot, 'test/fixtures/accounting/valid.ndjson'), 'utf8').split('\n');
  const { records, rejections, summary } = await convert([`\n${valid[0]}\n   \nnot json\n${valid[1]}`], { name: '/srv/neanias/accounting.json' });
  assert.equal(records.length, 2);
  assert.deepEqual(rejections.map((r) => r.line), [4]);
  assert.equal(summary.lines, 5);
  assert.equal((records[1]?.source as { path: string }).path, '/srv/neanias/accounting.json');
  assert.match(rejections[0]?.reasons[0]?.message ?? '', /line at byte \d+ of \/srv\/neanias\/accounting\.json/);
});

test('a line over the limit and bytes that are not UTF-8 are rejections, and conversion goes on', async () => {
  const valid = readFileSync(path.join(projectRoot, 'test/fixtures/accounting/valid.ndjson'), 'utf8').split('\n')[0] as string;
  const { records, rejections } = await convert([Buffer.concat([Buffer.from(`${'x'.repeat(5000)}\n`), Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), Buffer.from(`${valid}\n`)])], { maxLineBytes: 1024 });
  assert.equal(records.length, 1);
  assert.deepEqual(rejections.map((r) => [r.line, r.reasons[0]?.code]), [[1, 'RECORD_TOO_LARGE'], [2, 'RECORD_UNPARSABLE']]);
  assert.match(rejections[0]?.reasons[0]?.message ?? '', /5000 bytes, over the limit of 1024/);
  assert.match(rejections[1]?.reasons[0]?.message ?? '', /not valid UTF-8/);
});

test('Filebeat events are unwrapped (auto) with their own coordinates and ids; --envelope none takes the line as it is', async () => {
  const events = fixture('beats/filebeat-events.ndjson');
  const lines = events.toString('utf8').trimEnd().split('\n');
  const auto = await convert([events]);
  assert.deepEqual(auto.rejections, []);
  assert.deepEqual(auto.records.map((r) => r.id), lines.map((line) => accountingNormaliser.normalise(readEnvelope(line)).records[0]?.id));
  assert.equal((auto.records[0]?.source as { path: string }).path, '/var/log/neanias/accounting.json');
  const none = await convert([events], { envelope: 'none' });
  assert.equal(none.records.length, 0);
  assert.equal(none.rejections.length, lines.length);
});

test('a kind that writes several topics prints each record with its topic; a kind with one topic prints the record alone', async () => {
  const { records, rejections } = await convert([fixture('caso-json/cloud.ndjson'), fixture('caso-json/ip.ndjson'), fixture('caso-json/storage.ndjson')], { normaliser: casoJsonNormaliser });
  assert.deepEqual(rejections, []);
  assert.ok(records.length > 0);
  for (const line of records) {
    assert.deepEqual(Object.keys(line), ['topic', 'record']);
    assert.ok(casoJsonNormaliser.topics.includes(String(line.topic)), String(line.topic));
    assert.match(String((line.record as { id: string }).id), /^[0-9a-f]{32}$/);
  }
  assert.deepEqual([...new Set(records.map((r) => r.topic))].sort(), ['cloud.ip', 'cloud.storage', 'cloud.vm']);
  const single = await convert([fixture('accounting/valid.ndjson')]);
  assert.equal(single.records[0]?.topic, undefined);
  assert.match(String(single.records[0]?.id), /^[0-9a-f]{32}$/);
});

test('a record the Avro schema cannot hold is RECORD_UNRENDERABLE', async () => {
  const broken: ConvertOptions['normaliser'] = {
    kind: 'accounting',
    topics: ['accounting.usage'],
    normalise: (envelope) => {
      const result = accountingNormaliser.normalise(envelope);
      for (const record of result.records) record.value.value = 'five';
      return result;
    },
  };
  const valid = readFileSync(path.join(projectRoot, 'test/fixtures/accounting/valid.ndjson'), 'utf8').split('\n')[0] as string;
  const { records, rejections } = await convert([`${valid}\n`], { normaliser: broken });
  assert.deepEqual(records, []);
  assert.equal(rejections[0]?.reasons[0]?.code, 'RECORD_UNRENDERABLE');
  assert.match(rejections[0]?.reasons[0]?.message ?? '', /value: "five" does not fit/);
});

// ---- the command: node dist/app/cli/main.js convert

test('tally convert: valid lines → stdout, exit 0, the same ids on every run', () => {
  const first = cli(['convert', '--kind', 'accounting'], fixture('accounting/valid.ndjson'));
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stderr, '');
  assert.equal(first.records.length, 33);
  assert.equal(first.records[1]?.timestamp, '2021-03-01T08:00:13.123Z');
  const second = cli(['convert', '--kind', 'accounting'], fixture('accounting/valid.ndjson'));
  assert.deepEqual(second.records.map((r) => r.id), first.records.map((r) => r.id));
});

test('tally convert: invalid lines → stderr with line numbers, exit 1', () => {
  const result = cli(['convert', '--kind', 'accounting'], fixture('accounting/invalid.ndjson'));
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  const rejections = result.rejections();
  assert.equal(rejections.length, 23);
  assert.deepEqual(rejections[3]?.reasons[0], { code: 'RECORD_INVALID', rule: 'type', path: '/value', message: rejections[3]?.reasons[0]?.message });
  assert.match(rejections[3]?.reasons[0]?.message ?? '', /^`value` must be a number, got "5,1"; write it as a JSON number, without quotes: 5\.1 \(line at byte \d+ of - on host .+\)$/);
});

test('tally convert: mixed.log gives the accounting lines on stdout and the rest on stderr, exit 1', () => {
  const result = cli(['convert', '--kind', 'accounting', '--name', '/var/log/neanias/uw-mos.log'], fixture('accounting/mixed.log'));
  assert.equal(result.code, 1);
  assert.equal(result.records.length, 7);
  assert.equal(result.rejections().length, 12);
  assert.ok(result.records.every((r) => (r.source as { path: string }).path === '/var/log/neanias/uw-mos.log'));
});

test('tally convert: Filebeat events on stdin are unwrapped', () => {
  const result = cli(['convert', '--kind', 'accounting', '--envelope', 'auto'], fixture('beats/filebeat-events.ndjson'));
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.records.length > 0 && result.records.every((r) => (r.source as { host: string }).host === 'sp-01.example.org'));
});

test('tally convert: an unknown kind is a usage error naming the known kinds', () => {
  const result = cli(['convert', '--kind', 'caso'], '');
  assert.equal(result.code, 2);
  assert.match(result.stderr, /USAGE: unknown kind "caso": known kinds are accounting/);
  const missing = cli(['convert'], '');
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /--kind/);
});

test('convert --to apel renders cloud records into a dirq queue with the APEL sink\'s code: the latest snapshot per VM, ASCII, one message per type', async () => {
  const { mkdtempSync, readdirSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'tally-convert-apel-')), 'outgoing');
  const input = Buffer.concat([fixture('apel-message/cloud-v0.4.txt'), fixture('apel-message/cloud-v0.4-second-run.txt')].map((b) => Buffer.from(`${JSON.stringify({ '@timestamp': '2024-03-20T12:00:00Z', message: b.toString('utf8'), input: { type: 'apel-queue' } })}\n`)));
  const run = spawnSync(process.execPath, [main, 'convert', '--kind', 'apel-message', '--to', 'apel', '--out', out], { input, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const files = readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => /^[0-9a-f]{8}\/[0-9a-f]{14}$/.test(f));
  assert.equal(files.length, 1, 'one cloud message');
  const body = readFileSync(path.join(out, files[0] ?? ''));
  assert.ok(body.every((byte) => byte < 0x80), 'ASCII only');
  const text = body.toString('latin1');
  assert.match(text, /^APEL-cloud-message: v0\.4\n/);
  const uuids = [...text.matchAll(/^VMUUID: (.+)$/gm)].map((m) => m[1]);
  assert.equal(new Set(uuids).size, uuids.length, 'each VM once: its latest snapshot');
  assert.match(run.stderr, /wrote \d+ records in 1 APEL messages/);
});
