import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { apelMessageTypes, messageTypeOfTopic } from '../../../../connectors/sinks/apel/render/message-types.js';
import { assemble } from '../../../../connectors/sinks/apel/render/framing.js';
import { domainCodec } from '../../../../pipeline/avro.js';
import { buildEnvelope } from '../../../../pipeline/envelope.js';
import { normaliserFor } from '../../../../pipeline/normalise/index.js';
import { casoWrite, dirq, type CasoRecordSpec } from '../../../interop/apel/tools.js';

const options = { zeroDurationsAsOne: true, ipRecordUuid: true };

/**
 * cASO's own SSM messenger writes messages; the project's apel-message normaliser reads each into
 * cloud.* records (through Avro, as on Kafka); the sink's renderer writes them again. For what cASO
 * writes in ASCII, the result is cASO's message byte for byte.
 */
function roundTrip(body: string): { text: string; topics: string[] } {
  const normalised = normaliserFor('apel-message').normalise(buildEnvelope({ message: body, inputType: 'apel-queue' }));
  assert.deepEqual(normalised.rejections, [], 'the normaliser accepts every record cASO wrote');
  const topics = [...new Set(normalised.records.map((r) => r.topic))];
  assert.equal(topics.length, 1, 'one record type per message');
  const type = messageTypeOfTopic(topics[0] ?? '');
  assert.ok(type, `an APEL message type for ${topics[0]}`);
  const codec = domainCodec(type.topic);
  const texts = normalised.records.map((r) => type.render(codec.decode(codec.encode(r.value)), options).text);
  return { text: assemble(type.framing, texts), topics };
}

describe("round trip: cASO's messages → the project's parser → Avro → the APEL renderer", () => {
  test('cloud (running, completed, zero CPU, benchmark), public IP, accelerator and StAR messages come back byte for byte', async () => {
    const queue = path.join(await mkdtemp(path.join(os.tmpdir(), 'tally-apel-roundtrip-')), 'q');
    const base = { site_name: 'TEST-Site', compute_service: 'Fake Cloud Service' };
    const records: CasoRecordSpec[] = [
      { type: 'cloud', fields: { ...base, uuid: '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11', name: 'vm-running', user_id: 'u1', group_id: 'p1', fqan: 'vo.example.org', status: 'started', start_time: 1704873600, end_time: null, cpu_count: 2, memory: 2048, disk: 20, benchmark_value: 12, benchmark_type: 'HEPSPEC', wall_duration: 3600, cpu_duration: 7200 } },
      { type: 'cloud', fields: { ...base, uuid: '1f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c12', name: 'vm-never-ran', user_id: 'u2', group_id: 'p1', fqan: 'vo.example.org', status: 'completed', start_time: 1704873600, end_time: 1704873600, cpu_count: 0, memory: 0, disk: 0 } },
      { type: 'cloud', fields: { ...base, uuid: '2f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c13', name: 'vm-done', user_id: 'u3', user_dn: 'someone', group_id: 'p2', fqan: '/vo.example.org/Role=NULL', status: 'completed', start_time: 1704873600, end_time: 1704873690, cpu_count: 4, memory: 8192, disk: 80, suspend_duration: 5, image_id: 'img-1', public_ip_count: 1 } },
      { type: 'ip', fields: { ...base, uuid: '9a0c4f1e-2d3b-4c5d-8e7f-8a9b0c1d2e3f', user_id: null, user_dn: null, group_id: 'p1', fqan: 'vo.example.org', ip_version: 4, public_ip_count: 3, measure_time: 1704888000 } },
      { type: 'ip', fields: { ...base, uuid: '5c50720e-a653-4d70-9b0e-d4388687fcbc', user_id: 'u9', user_dn: 'User 2 DN', group_id: 'p2', fqan: 'VO 2 FQAN', ip_version: 6, public_ip_count: 20, measure_time: 1704888000 } },
      { type: 'accelerator', fields: { ...base, uuid: '99cf5d02-a573-46a1-b90d-0f7327126876', user_dn: 'd4e547e6f298fe34389@foobar.eu', fqan: 'VO 1 FQAN', count: 3, available_duration: 5000, measurement_month: 6, measurement_year: 2022, accelerator_type: 'GPU', model: 'Foobar A200' } },
      { type: 'storage', fields: { ...base, uuid: '5b2c8e1a-0000-4000-8000-000000000001', name: 'vol1', user_id: 'u1', user_dn: 'someone', group_id: 'p1', fqan: 'vo.example.org', active_duration: 86400, status: 'available', capacity: 10, start_time: 1704801600, measure_time: 1704888000, volume_creation: 1704067200 } },
    ];
    casoWrite(queue, records, 2);
    const elements = dirq.drain(queue);
    assert.deepEqual(elements.map((e) => e.body.toString('utf8').slice(0, 12)), ['APEL-cloud-m', 'APEL-cloud-m', '{"Type": "AP', '{"Type": "AP', '<sr:StorageU']);
    const seen = new Set<string>();
    for (const element of elements) {
      const cASO = element.body.toString('utf8');
      const { text, topics } = roundTrip(cASO);
      for (const t of topics) seen.add(t);
      assert.equal(text, cASO, `${topics[0]}: the same bytes cASO wrote`);
    }
    assert.deepEqual([...seen].sort(), apelMessageTypes.map((t) => t.topic).sort());
  });
});
