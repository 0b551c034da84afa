import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deadLetterRecord, lineEnvelope, LineRecordTemplate, recordKey, type RecordContext, type ShipDeadLetter } from '../../../../connectors/sources/file-tail/records.js';

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

test('a dead letter keeps the first bytes, the full length, where it came from and why', () => {
  const head = Buffer.from([0x7b, 0xff, 0x7d]);
  const record = deadLetterRecord(context, { ...origin, offset: 9 }, { code: 'RECORD_UNPARSABLE', message: 'not UTF-8' }, head, 3);
  assert.equal(record.topic, 'dlq.accounting');
  assert.equal(record.headers?.['tally-error'], 'RECORD_UNPARSABLE');
  const value = JSON.parse(String(record.value)) as ShipDeadLetter;
  assert.equal(value.stage, 'ship');
  assert.deepEqual(value.reasons, [{ code: 'RECORD_UNPARSABLE', message: 'not UTF-8' }]);
  assert.deepEqual(value.original, { encoding: 'base64', data: head.toString('base64'), bytes: 3, truncated: false });
  assert.equal(value.envelope.log?.offset, 9);
  assert.deepEqual((value.envelope.log as Record<string, unknown>).flags, ['invalid_utf8']);
});
