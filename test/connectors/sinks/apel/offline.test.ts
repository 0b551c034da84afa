import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderApelMessages } from '../../../../connectors/sinks/apel/offline.js';
import { accelerator, ip, storage, vm } from './records.js';
import { checkMessage } from './support.js';

test('renderApelMessages (for tally convert --to apel): the sink\'s renderers, limits and latest-snapshot rule without Kafka', () => {
  const records = [
    { topic: 'cloud.vm', id: 'a', value: { ...vm({ wall_duration_seconds: 1 }) } },
    { topic: 'cloud.vm', id: 'a', value: { ...vm({ wall_duration_seconds: 2 }) } },
    { topic: 'cloud.vm', id: 'b', value: { ...vm({ vm_uuid: 'b' }) } },
    { topic: 'cloud.vm', id: 'c', value: { ...vm({ vm_uuid: 'c' }) } },
    { topic: 'cloud.energy', id: 'e', value: {} },
    { topic: 'cloud.vm', id: 'bad', value: { ...vm({ site_name: 'none' }) } },
    { topic: 'cloud.ip', id: 'i', value: { ...ip() } },
    { topic: 'cloud.accelerator', id: 'x', value: { ...accelerator() } },
    { topic: 'cloud.storage', id: 's', value: { ...storage() } },
    { topic: 'cloud.storage', id: 'broken', value: { record_id: 'r' } },
  ];
  const out = renderApelMessages(records, { maxRecordsPerMessage: 2, maxMessageBytes: 512 * 1024 }, { zeroDurationsAsOne: true, ipRecordUuid: true });
  assert.deepEqual(out.skipped, [4]);
  assert.deepEqual(out.refused.map((r) => [r.index, r.code]), [[5, 'RECORD_UNRENDERABLE'], [9, 'RECORD_UNRENDERABLE']]);
  assert.match(out.refused[1]?.reason ?? '', /does not have the fields the APEL renderer reads/);
  assert.deepEqual(out.messages.map((m) => [m.type, m.records]), [['cloud', 2], ['cloud', 1], ['ip', 1], ['accelerator', 1], ['storage', 1]]);
  const first = checkMessage({ name: 'm0', body: out.messages[0]?.body ?? Buffer.alloc(0), ascii: true }, 2, 512 * 1024);
  assert.deepEqual((first.records as Record<string, string>[]).map((r) => r.WallDuration), ['2', '432000'], 'the later snapshot of a replaced the earlier one in place');
  for (const [i, m] of out.messages.entries()) checkMessage({ name: `m${i}`, body: m.body, ascii: true }, 2, 512 * 1024);
});
