import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from '../../pipeline/bus/types.js';
import { deadLetterRecord } from '../../pipeline/dlq.js';
import { planReplay, readDeadLetter } from '../../pipeline/dlq-replay.js';

const prefix = (name: string): string => `site-a.${name}`;

function stored(value: string | Buffer | null, partition = 0, offset = '3'): IncomingMessage {
  return { topic: 'site-a.dlq.accounting', partition, offset, key: null, value: value === null ? null : Buffer.from(value), headers: {}, timestamp: 0, generation: 1 };
}

test('a transform reject goes back to the raw topic it came from, with its key and the original bytes', () => {
  const letter = deadLetterRecord(prefix, { kind: 'accounting', stage: 'transform', original: Buffer.from('{"message":"x"}'), source: { topic: 'site-a.raw.accounting', partition: 1, offset: '9', key: 'host:/x.json' }, reasons: [{ code: 'RECORD_INVALID', message: 'm' }] });
  const read = readDeadLetter(stored(String(letter.value)));
  assert.ok(read);
  const plan = planReplay(read, prefix);
  assert.ok('record' in plan);
  assert.equal(plan.record.topic, 'site-a.raw.accounting');
  assert.equal(plan.record.key, 'host:/x.json');
  assert.equal(String(plan.record.value), '{"message":"x"}');
  assert.equal(plan.record.headers?.['tally-replayed-from'], 'dlq.accounting/0/3');
});

test('a document Elasticsearch refused goes back to its domain topic with the schema headers; binary originals survive', () => {
  const avro = Buffer.from([0x06, 0xff, 0x10, 0x80]);
  const letter = deadLetterRecord(prefix, { kind: 'accounting', stage: 'sink-elasticsearch', original: avro, source: { topic: 'site-a.accounting.usage', partition: 0, offset: '5', key: 'abc' }, reasons: [{ code: 'ES_PERMANENT', message: 'mapping' }] });
  const read = readDeadLetter(stored(String(letter.value)));
  assert.ok(read);
  const plan = planReplay(read, prefix);
  assert.ok('record' in plan);
  assert.equal(plan.record.topic, 'site-a.accounting.usage');
  assert.deepEqual([...(plan.record.value as Buffer)], [...avro]);
  assert.equal(plan.record.headers?.['tally-schema'], 'tally.accounting.Usage');
});

test('a refused wire-format value (magic byte 0, schema id) goes back without the bare-Avro fingerprint header: its id names its schema', () => {
  const framed = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x07, 0x06, 0x61]);
  const letter = deadLetterRecord(prefix, { kind: 'accounting', stage: 'sink-elasticsearch', original: framed, source: { topic: 'site-a.accounting.usage', partition: 0, offset: '6', key: 'abd' }, reasons: [{ code: 'ES_PERMANENT', message: 'mapping' }] });
  const plan = planReplay(readDeadLetter(stored(String(letter.value)))!, prefix);
  assert.ok('record' in plan);
  assert.deepEqual([...(plan.record.value as Buffer)], [...framed]);
  assert.equal(plan.record.headers?.['tally-schema-fingerprint'], undefined);
  assert.match(String(plan.record.headers?.['tally-replayed-from']), /^dlq\.accounting\//);
});

test('a source reject goes to raw.<kind>; a truncated original is not replayed, and says why', () => {
  const beats = deadLetterRecord(prefix, { kind: 'accounting', stage: 'beats', original: Buffer.from('{"a":1}'), source: { origin: 'event from 10.0.0.1:5000 over beats' }, reasons: [{ code: 'RECORD_UNPARSABLE', message: 'm' }] });
  const beatsPlan = planReplay(readDeadLetter(stored(String(beats.value)))!, prefix);
  assert.ok('record' in beatsPlan && beatsPlan.record.topic === 'site-a.raw.accounting');
  const ship = JSON.stringify({ '@timestamp': 't', stage: 'ship', kind: 'accounting', reasons: [{ code: 'RECORD_TOO_LARGE', message: 'line too long' }], original: { encoding: 'base64', data: 'QUJD', bytes: 2_000_000, truncated: true } });
  const shipPlan = planReplay(readDeadLetter(stored(ship))!, prefix);
  assert.ok('skip' in shipPlan);
  assert.match(shipPlan.skip, /truncated \(2000000 bytes/);
  assert.equal(readDeadLetter(stored('not json')), undefined);
  assert.equal(readDeadLetter(stored(null)), undefined);
});
