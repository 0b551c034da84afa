import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventValue, sliceByBytes, windowRecords } from '../../../../connectors/sources/beats/records.js';
import type { DecodedWindow } from '../../../../connectors/sources/beats/protocol.js';
import type { DeadLetter } from '../../../../pipeline/dlq.js';
import { isTallyError } from '../../../../pipeline/errors.js';
import { filebeatEvents } from './support.js';

const client = '10.0.0.9:40000';
const value = (json: string | Buffer): string => eventValue(Buffer.isBuffer(json) ? json : Buffer.from(json), client).toString('utf8');

describe('beats events as Kafka values', () => {
  test('a Filebeat event is the value byte for byte, with source.address spliced in first', () => {
    for (const event of filebeatEvents()) {
      const out = value(event);
      const parsed = JSON.parse(out) as { source?: { address?: string } };
      if (event.includes('"source"')) {
        assert.equal(out, event, 'an event that has source.address is untouched');
      } else {
        assert.equal(out, `{"source":{"address":"${client}"},${event.slice(1)}`);
        assert.equal(parsed.source?.address, client);
      }
    }
  });

  test('number spellings, key order, escapes and odd keys survive (the bytes are not re-encoded)', () => {
    const event = '  {"n":1e309,"m":1.10,"u":"\\u00e9","__proto__":{"x":1},"constructor":"c"}';
    assert.equal(value(event), `  {"source":{"address":"${client}"},"n":1e309,"m":1.10,"u":"\\u00e9","__proto__":{"x":1},"constructor":"c"}`);
    assert.equal(value('{}'), `{"source":{"address":"${client}"}}`);
    assert.equal(({} as Record<string, unknown>).x, undefined, 'no prototype pollution');
  });

  test('a source object without an address gets one; a source that is not an object is left alone', () => {
    assert.deepEqual(JSON.parse(value('{"source":{"ip":"1.2.3.4"},"message":"m"}')), { source: { ip: '1.2.3.4', address: client }, message: 'm' });
    assert.equal(value('{"source":"elsewhere","message":"m"}'), '{"source":"elsewhere","message":"m"}');
  });

  test('not a UTF-8 JSON object: a RECORD_UNPARSABLE error', () => {
    for (const bad of [Buffer.from('not json'), Buffer.from('[1,2]'), Buffer.from('null'), Buffer.from('"s"'), Buffer.from('{"a":'), Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), Buffer.from('\ufeff{}'), Buffer.from('{"a":1}\u0000')]) {
      assert.throws(() => eventValue(bad, client), (e: unknown) => isTallyError(e, 'RECORD_UNPARSABLE'), bad.toString('hex'));
    }
  });

  test('deeply nested JSON is kept as sent', () => {
    const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    assert.ok(value(deep).endsWith(`"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`));
  });

  test('a window: good events to raw.<kind>, a broken or oversized one to dlq.<kind> with its reason', () => {
    const window: DecodedWindow = {
      version: 2,
      size: 3,
      lastSeq: 3,
      bytes: 0,
      events: [
        { seq: 1, payload: Buffer.from('{"message":"ok"}') },
        { seq: 2, payload: Buffer.from('{"message":') },
        { seq: 3, payload: Buffer.from(JSON.stringify({ message: 'x'.repeat(3000) })) },
      ],
    };
    const { records, rejected } = windowRecords(window, { kind: 'accounting', topic: 'p.raw.accounting', topicName: (n) => `p.${n}`, clientAddress: client, maxRecordBytes: 2048 });
    assert.equal(rejected, 2);
    assert.deepEqual(records.map((r) => r.topic), ['p.raw.accounting', 'p.dlq.accounting', 'p.dlq.accounting']);
    const [, broken, large] = records.map((r) => JSON.parse(String(r.value)) as DeadLetter);
    assert.equal(broken?.stage, 'beats');
    assert.equal(broken?.reasons[0]?.code, 'RECORD_UNPARSABLE');
    assert.equal(broken?.original.data, '{"message":');
    assert.match(String(broken?.source?.origin), /event 2 of a window of 3 from 10\.0\.0\.9:40000 over beats/);
    assert.equal(large?.reasons[0]?.code, 'RECORD_TOO_LARGE');
    assert.match(String(large?.reasons[0]?.message), /is \d+ bytes, over the limit of 2048 bytes/);
  });

  test('slices by value bytes, in order, at least one record each', () => {
    const r = (n: number) => ({ topic: 't', value: 'x'.repeat(n) });
    assert.deepEqual(sliceByBytes([r(400), r(400), r(400), r(2000), r(10)], 1000).map((s) => s.map((x) => String(x.value).length)), [[400, 400], [400], [2000], [10]]);
    assert.deepEqual(sliceByBytes([], 1000), []);
  });
});

test('an event over 64 KiB becomes a dead letter whose original is its first 64 KiB, marked truncated', () => {
  const payload = Buffer.from(JSON.stringify({ message: 'x'.repeat(80 * 1024) }));
  const window = { size: 1, events: [{ seq: 1, payload }] } as unknown as Parameters<typeof windowRecords>[0];
  const { records, rejected } = windowRecords(window, { kind: 'accounting', topic: 'p.raw.accounting', topicName: (n) => `p.${n}`, clientAddress: '10.0.0.1:5', maxRecordBytes: 2048 });
  assert.equal(rejected, 1);
  const letter = JSON.parse(String(records[0]?.value)) as { original: { truncated?: boolean; bytes: number; data: string; encoding: string } };
  assert.equal(letter.original.truncated, true);
  assert.equal(letter.original.bytes, payload.length + 0);
  assert.equal(Buffer.from(letter.original.data, letter.original.encoding === 'base64' ? 'base64' : 'utf8').length, 64 * 1024);
  assert.equal(records[0]?.headers?.['tally-reason'], 'RECORD_TOO_LARGE');
});
