import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deadLetterRecord, lineEnvelope, LineRecordTemplate, recordKey, type RecordContext } from '../../../../connectors/sources/file-tail/records.js';
import type { IncomingMessage } from '../../../../pipeline/bus/types.js';
import { planReplay, readDeadLetter } from '../../../../pipeline/dlq-replay.js';
import { decodeOriginal, type DeadLetter } from '../../../../pipeline/dlq.js';

const context: RecordContext = { kind: 'accounting', topic: 'raw.accounting', dlqTopic: 'dlq.accounting', tags: ['accounting'], fields: { site: 'A', n: 1, nested: { offset: 987654321012345 } }, keyBy: 'stream', host: 'h1' };
const origin = { path: '/var/log/"odd" 1970-01-01T00:00:00.000Z/x.log.1', fileId: '1234-66305', stream: '/var/log/x.log' };

test('the per-file template renders exactly the envelope lineEnvelope builds', () => {
  const template = new LineRecordTemplate(context, origin);
  fc.assert(
    fc.property(fc.string(), fc.nat(), fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }), (message, offset, when) => {
      const fast = template.record(message, offset, LineRecordTemplate.timestamp(when));
      const slow = lineEnvelope(context, message, { ...origin, offset }, undefined, when);
      assert.deepEqual(JSON.parse(String(fast.value)), JSON.parse(JSON.stringify(slow)));
      assert.equal(fast.key, 'h1:/var/log/x.log');
      assert.equal(fast.topic, 'raw.accounting');
    }),
  );
});

test('the template\'s bytes are exactly JSON.stringify of lineEnvelope, for odd lines too', () => {
  const template = new LineRecordTemplate(context, origin);
  const when = new Date(Date.UTC(2026, 11, 7, 11, 43, 31, 5));
  const odd = [
    '',
    'plain',
    '{"a":"b","n":1}',
    'quotes " and \\" and \\\\ backslashes \\',
    'tab\there, cr\r, form feed\f, nul \u0000, escape \u001b, del \u007f',
    'unicode: é ü ß 漢字 😀 \u2028 \u2029 \ufeff',
    'a lone surrogate \ud800 and a reversed pair \udc00\ud800',
    '</script><!-- --> \u0085',
    'x'.repeat(1_000_000),
    '"'.repeat(70_000) + '\\'.repeat(70_000),
  ];
  for (const [i, message] of odd.entries()) {
    const offset = [0, 1, 42, 2 ** 31, Number.MAX_SAFE_INTEGER][i % 5] as number;
    const fast = template.record(message, offset, LineRecordTemplate.timestamp(when));
    const slow = Buffer.from(JSON.stringify(lineEnvelope(context, message, { ...origin, offset }, undefined, when)));
    assert.ok(Buffer.isBuffer(fast.value));
    assert.ok(fast.value.equals(slow), `line ${i} (${message.length} chars): ${fast.value.subarray(0, 200).toString()} ≠ ${slow.subarray(0, 200).toString()}`);
  }
  fc.assert(
    fc.property(fc.string(), fc.string({ unit: 'binary' }), fc.nat(), (message, binary, offset) => {
      for (const text of [message, binary]) {
        const fast = template.record(text, offset, LineRecordTemplate.timestamp(when));
        assert.ok(fast.value.equals(Buffer.from(JSON.stringify(lineEnvelope(context, text, { ...origin, offset }, undefined, when)))));
      }
    }),
  );
});

test('the envelope: Filebeat filestream shape with the registry identity as log.file.inode/device_id', () => {
  const env = lineEnvelope(context, 'hello', { ...origin, offset: 42 });
  assert.equal(env.message, 'hello');
  assert.equal(env.log?.offset, 42);
  assert.deepEqual(env.log?.file, { path: origin.path, inode: '1234', device_id: '66305' });
  assert.equal(env.input?.type, 'filestream');
  assert.deepEqual(env.tags, ['accounting']);
  assert.equal(env.fields?.site, 'A');
});

test('keys: by stream (one partition per file and its rotations) or by line (identity + offset)', () => {
  assert.equal(recordKey(context, { ...origin, offset: 5 }), 'h1:/var/log/x.log');
  assert.equal(recordKey({ ...context, keyBy: 'line' }, { ...origin, offset: 5 }), 'h1:1234-66305:5');
});

const shipLetter = (head: Buffer, length: number, code: 'RECORD_UNPARSABLE' | 'RECORD_TOO_LARGE') => {
  const record = deadLetterRecord(context, { ...origin, offset: 9 }, { code, message: 'why' }, head, length);
  const stored: IncomingMessage = { topic: 'dlq.accounting', partition: 0, offset: '5', key: Buffer.from(String(record.key)), value: Buffer.from(String(record.value)), headers: {}, timestamp: 0, generation: 0 };
  return { record, letter: JSON.parse(String(record.value)) as DeadLetter, stored: readDeadLetter(stored) };
};

test('a dead letter of the shipper is the shared dead-letter shape: first bytes, full length, envelope and why', () => {
  const head = Buffer.from([0x7b, 0xff, 0x7d]);
  const { record, letter, stored } = shipLetter(head, 3, 'RECORD_UNPARSABLE');
  assert.equal(record.topic, 'dlq.accounting');
  assert.equal(record.key, 'h1:/var/log/x.log');
  assert.deepEqual(record.headers, { 'tally-stage': 'ship', 'tally-reason': 'RECORD_UNPARSABLE' });
  const { '@timestamp': at, envelope, ...rest } = letter;
  assert.ok(Math.abs(Date.parse(at) - Date.now()) < 60_000);
  assert.deepEqual(rest, {
    kind: 'accounting',
    stage: 'ship',
    reasons: [{ code: 'RECORD_UNPARSABLE', message: 'why' }],
    original: { encoding: 'base64', data: head.toString('base64'), bytes: 3, truncated: false },
  });
  assert.deepEqual(envelope, JSON.parse(JSON.stringify(lineEnvelope(context, head.toString('utf8'), { ...origin, offset: 9 }, ['invalid_utf8'], new Date(String(envelope?.['@timestamp']))))));
  assert.deepEqual(stored?.letter, letter, 'read back as every stage\'s dead letter is');
  assert.deepEqual(decodeOriginal(letter.original), head);
});

test('a line cut short is marked truncated, and dlq replay will not send its first bytes as the line', () => {
  const line = Buffer.from('x'.repeat(5000));
  const { letter, stored } = shipLetter(line.subarray(0, 1024), line.length, 'RECORD_TOO_LARGE');
  assert.deepEqual(letter.original, { encoding: 'base64', data: line.subarray(0, 1024).toString('base64'), bytes: 5000, truncated: true });
  assert.deepEqual((letter.envelope?.log as Record<string, unknown>).flags, ['truncated']);
  assert.ok(stored);
  assert.ok('skip' in planReplay(stored, (name) => name));
});
