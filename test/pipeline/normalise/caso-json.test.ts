import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { apelMessageNormaliser } from '../../../pipeline/normalise/apel-message.js';
import { casoJsonNormaliser } from '../../../pipeline/normalise/caso-json.js';
import type { Normalised, NormalisedRecord } from '../../../pipeline/normalise/types.js';
import { apelFixture, assertAsWritten, assertAvroRoundTrip, casoFixture, fieldMapping, httpEnvelope, queueEnvelope } from './cloud-fixtures.js';

const normalise = (message: string): Normalised => casoJsonNormaliser.normalise(httpEnvelope(message));

function only(message: string): NormalisedRecord {
  const out = normalise(message);
  assert.deepEqual(out.rejections, []);
  assert.equal(out.records.length, 1);
  return out.records[0] as NormalisedRecord;
}

const fixtures: Record<string, { topic: string; mapping?: string }> = {
  'cloud.ndjson': { topic: 'cloud.vm' },
  'ip.ndjson': { topic: 'cloud.ip' },
  'accelerator.ndjson': { topic: 'cloud.accelerator' },
  'storage.ndjson': { topic: 'cloud.storage', mapping: 'cloud.storage caso' },
  'energy.ndjson': { topic: 'cloud.energy' },
};

/** The record without where it came from: what must be equal whichever path it took. */
const content = (record: NormalisedRecord | undefined) => ({ ...record?.value, source: null });

describe('caso-json: every record cASO dumps', () => {
  for (const [name, { topic, mapping }] of Object.entries(fixtures)) {
    test(`${name}: each line is one ${topic} record with every key's value exactly as cASO wrote it; Avro round-trips`, () => {
      for (const { line, fields } of casoFixture(name)) {
        const record = only(line);
        assert.equal(record.topic, topic);
        assert.match(record.id, /^[0-9a-f]{32}$/);
        assertAsWritten(record, fields, fieldMapping[mapping ?? topic]);
        assert.deepEqual(record.value.source, { input: 'http', format: 'cASO JSON', record_number: null, host: record.value.source && (record.value.source as { host: string }).host, path: null, offset: null, client: '192.0.2.7', tags: [] });
        assertAvroRoundTrip(record);
      }
    });
  }

  test('a running VM dumped twice with growing durations: one id', () => {
    const lines = casoFixture('cloud.ndjson').filter(({ fields }) => fields.VMUUID === '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11');
    assert.equal(lines.length, 2);
    const [first, second] = lines.map(({ line }) => only(line));
    assert.equal(first?.id, second?.id);
    assert.ok((second?.value.cpu_duration_seconds as number) > (first?.value.cpu_duration_seconds as number));
    assert.equal(first?.value.running, true);
  });

  test('a cASO JSON array (the greendigit_cim body) is read record by record', () => {
    const lines = casoFixture('energy.ndjson');
    const out = normalise(`[${lines.map((l) => l.line).join(',')}]`);
    assert.equal(out.records.length, lines.length);
    assert.deepEqual(out.records.map((r) => (r.value.source as { record_number: number }).record_number), [1, 2]);
  });
});

describe('caso-json and apel-message give the same record for the same cASO record', () => {
  const apelRecords = (fixture: string) => apelMessageNormaliser.normalise(queueEnvelope(apelFixture(fixture))).records;

  test('cloud: the SSM text and the JSON dump of each VM are the same record (VMs with durations above 0)', () => {
    const fromText = apelRecords('cloud-v0.4.txt');
    const dumps = casoFixture('cloud.ndjson').slice(0, fromText.length);
    dumps.forEach(({ line, fields }, i) => {
      const fromJson = only(line);
      // cASO's SSM text writes WallDuration 1 where its JSON says 0 (the VM that never ran)
      if (fields.WallDuration === 0) {
        assert.equal(fromText[i]?.value.wall_duration_seconds, 1);
        assert.equal(fromJson.value.wall_duration_seconds, 0);
        assert.equal(fromJson.id, fromText[i]?.id);
        return;
      }
      assert.deepEqual(content(fromJson), content(fromText[i]));
    });
  });

  test('public IP, accelerator and energy: the same records either way', () => {
    for (const [fixture, dump] of [
      ['ip.json', 'ip.ndjson'],
      ['accelerator.json', 'accelerator.ndjson'],
      ['energy.json', 'energy.ndjson'],
    ] as const) {
      const fromMessage = apelRecords(fixture);
      casoFixture(dump).forEach(({ line }, i) => assert.deepEqual(content(only(line)), content(fromMessage[i]), `${fixture} record ${i + 1}`));
    }
  });

  test('storage: StAR and the JSON dump give the same id and StAR fields; the JSON adds cASO\'s own and has whole seconds', () => {
    const fromStar = apelRecords('storage.xml');
    casoFixture('storage.ndjson').forEach(({ line }, i) => {
      const fromJson = only(line);
      const star = fromStar[i] as NormalisedRecord;
      assert.equal(fromJson.id, star.id);
      for (const field of ['record_id', 'storage_system', 'site', 'local_user', 'local_group', 'user_identity', 'group', 'vo', 'start_time', 'resource_capacity_used', 'capacity_gb', 'accounting_month']) {
        assert.deepEqual(fromJson.value[field], star.value[field], field);
      }
      assert.equal(Math.floor((star.value.end_time as number) / 1000) * 1000, fromJson.value.end_time);
      assert.equal(star.value.status, null);
      assert.notEqual(fromJson.value.status, null);
    });
  });
});

describe('caso-json: what is refused', () => {
  test('not JSON', () => {
    const out = normalise('{"SiteName": ');
    assert.equal(out.records.length, 0);
    assert.equal(out.rejections[0]?.reasons[0]?.code, 'RECORD_UNPARSABLE');
    assert.match(out.rejections[0]?.reasons[0]?.message ?? '', /^the input is not valid JSON, expected a cASO record/);
  });

  test('a record of no cASO class names the keys it looks for', () => {
    const out = normalise('{"SiteName": "S"}');
    assert.equal(out.rejections[0]?.reasons[0]?.rule, 'record-type');
    assert.match(out.rejections[0]?.reasons[0]?.message ?? '', /VMUUID \(CloudRecord\)/);
  });

  test('an APEL JSON message is pointed to kind apel-message', () => {
    const out = normalise(apelFixture('ip.json'));
    assert.match(out.rejections[0]?.reasons[0]?.message ?? '', /send it as kind apel-message/);
  });

  test('a bad cASO record: every reason, naming field, rule and value given', () => {
    const { fields } = casoFixture('cloud.ndjson')[0] as { fields: Record<string, unknown> };
    const out = normalise(JSON.stringify({ ...fields, Memory: '8192', EndTime: 1710750600000, Vmuuid: 'x' }));
    const reasons = out.rejections[0]?.reasons ?? [];
    const message = (path: string) => reasons.find((r) => r.path === path)?.message ?? '';
    assert.match(message('/Memory'), /^`Memory` must be an integer, got "8192"; write it as a JSON number, without quotes: 8192 \(event from 192\.0\.2\.7 over http/);
    assert.match(message('/EndTime'), /^`EndTime` must be epoch seconds before the year 10000 \(at most 253402300799\), got 1710750600000; is it in milliseconds\?/);
    assert.match(message('/Vmuuid'), /^`Vmuuid` is not a field of a cloud record; did you mean `VMUUID`\?/);
  });

  test('a bad record in an array is refused alone, with its own JSON', () => {
    const lines = casoFixture('ip.ndjson');
    const bad = { ...lines[0]?.fields, IPVersion: 5 };
    const out = normalise(`[${lines[0]?.line},${JSON.stringify(bad)}]`);
    assert.equal(out.records.length, 1);
    assert.equal(out.rejections[0]?.original, JSON.stringify(bad));
  });

  test('a StorageRecord whose Capacity in bytes is past 2^53 is refused (cASO\'s own test fixture is one)', () => {
    const { fields } = casoFixture('storage.ndjson')[0] as { fields: Record<string, unknown> };
    const out = normalise(JSON.stringify({ ...fields, Capacity: 322122547200 }));
    assert.match(out.rejections[0]?.reasons[0]?.message ?? '', /^`Capacity` 322122547200 GiB is .* is it already in bytes\?/);
  });
});

describe('caso-json: never throws', () => {
  const lines = Object.keys(fixtures).flatMap((name) => casoFixture(name));
  const check = (message: string) => {
    const out = normalise(message);
    assert.ok(Array.isArray(out.records) && Array.isArray(out.rejections));
    for (const rejection of out.rejections) assert.ok(rejection.reasons.length > 0);
    for (const record of out.records) assertAvroRoundTrip(record);
  };

  test('any string yields records or rejections, never a throw', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), check), { numRuns: 300 });
  });

  test('any JSON value, and any cASO record with one field replaced by any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => check(JSON.stringify(value))), { numRuns: 300 });
    fc.assert(
      fc.property(fc.constantFrom(...lines), fc.nat(), fc.jsonValue({ maxDepth: 2 }), ({ fields }, at, value) => {
        const keys = Object.keys(fields);
        check(JSON.stringify({ ...fields, [keys[at % keys.length] as string]: value }));
      }),
      { numRuns: 300 },
    );
  });
});

test('an empty JSON array is refused, not dropped silently; any input yields a record or a rejection', () => {
  const out = normalise('[]');
  assert.equal(out.records.length, 0);
  assert.equal(out.rejections[0]?.reasons[0]?.rule, 'no-records');
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
      const result = normalise(JSON.stringify(value));
      assert.ok(result.records.length + result.rejections.length > 0, JSON.stringify(value));
    }),
    { numRuns: 300 },
  );
});
