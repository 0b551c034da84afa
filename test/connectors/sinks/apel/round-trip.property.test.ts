import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assemble } from '../../../../connectors/sinks/apel/render/framing.js';
import { apelMessageTypes } from '../../../../connectors/sinks/apel/render/message-types.js';
import { domainCodec } from '../../../../pipeline/avro.js';
import { isTallyError } from '../../../../pipeline/errors.js';
import { buildEnvelope } from '../../../../pipeline/envelope.js';
import { normaliserFor } from '../../../../pipeline/normalise/index.js';
import { accelerator, ip, storage, vm } from './records.js';

const options = { zeroDurationsAsOne: false, ipRecordUuid: true };
/** text APEL carries as it is: printable ASCII without the separators of any of the four formats */
const text = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._@/=-]{0,30}[A-Za-z0-9]$/);
/** APEL's DECIMAL(10,3) and INT columns bound what the renderer writes; past them it refuses (RECORD_UNRENDERABLE), tested below */
const count = fc.integer({ min: 1, max: 9_999_999 });

/** render with the APEL sink's renderer, parse with the apel-message normaliser, through Avro as on Kafka */
function renderThenParse(topic: string, record: Record<string, unknown>): Record<string, unknown>[] {
  const type = apelMessageTypes.find((t) => t.topic === topic);
  assert.ok(type, topic);
  const rendered = assemble(type.framing, [type.render(record, options).text]);
  const out = normaliserFor('apel-message').normalise(buildEnvelope({ message: rendered, inputType: 'apel-queue' }));
  assert.deepEqual(out.rejections, [], rendered);
  const codec = domainCodec(topic);
  return out.records.map((r) => {
    assert.equal(r.topic, topic);
    return codec.decode(codec.encode(r.value)) as Record<string, unknown>;
  });
}

const pick = (record: Record<string, unknown>, keys: string[]): Record<string, unknown> => Object.fromEntries(keys.map((k) => [k, record[k]]));

const cases: { topic: string; build: (o: Record<string, unknown>) => Record<string, unknown>; fields: Record<string, fc.Arbitrary<unknown>> }[] = [
  { topic: 'cloud.vm', build: (o) => vm(o) as unknown as Record<string, unknown>, fields: { site_name: text, machine_name: text, local_user_id: text, global_user_name: text, cpu_count: count, memory_mb: count, disk_gb: count, wall_duration_seconds: count, cpu_duration_seconds: count } },
  { topic: 'cloud.ip', build: (o) => ip(o) as unknown as Record<string, unknown>, fields: { site_name: text, local_user: text, local_group: text, fqan: text, ip_count: count } },
  { topic: 'cloud.accelerator', build: (o) => accelerator(o) as unknown as Record<string, unknown>, fields: { site_name: text, global_user_name: text, model: text, accelerator_type: fc.constantFrom('GPU', 'FPGA', 'Other') } },
  { topic: 'cloud.storage', build: (o) => storage(o) as unknown as Record<string, unknown>, fields: { site: text, storage_system: text, local_user: text, local_group: text } },
];

test('a value past an APEL column is refused by the renderer with a typed error, never written', () => {
  const type = apelMessageTypes.find((t) => t.topic === 'cloud.vm');
  assert.throws(() => type?.render(vm({ cpu_count: 10_000_000 }) as unknown as Record<string, unknown>, options), (e: unknown) => isTallyError(e, 'RECORD_UNRENDERABLE') && /CpuCount/.test(e.message));
});

test('the four renderable record types: APEL rendering then parsing gives back the record', () => {
  assert.deepEqual(cases.map((c) => c.topic).sort(), apelMessageTypes.map((t) => t.topic).sort(), 'every APEL message type the sink renders');
  for (const c of cases) {
    fc.assert(
      fc.property(fc.record(c.fields), (overrides) => {
        const record = c.build(overrides);
        const [back] = renderThenParse(c.topic, record);
        assert.ok(back);
        assert.deepEqual(pick(back, Object.keys(overrides)), pick(record, Object.keys(overrides)));
      }),
      { numRuns: 150 },
    );
  }
});
