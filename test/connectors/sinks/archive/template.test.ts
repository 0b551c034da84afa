import { test } from 'node:test';
import assert from 'node:assert/strict';
import { archiveIndexBase } from '../../../../connectors/sinks/archive/setup.js';
import { familyMappings, mappedFields, templateSet } from '../../../../connectors/sinks/elasticsearch/templates.js';
import { domainCodec } from '../../../../pipeline/avro.js';

const archive = mappedFields(familyMappings(templateSet(archiveIndexBase, { prefix: 'p-', layout: 'monthly', ilm: true })).properties);
const opsLogs = mappedFields(familyMappings(templateSet('ops-logs', { prefix: 'p-', layout: 'monthly', ilm: false })).properties);

test('the archive maps every ops-logs field as ops-logs does, so an archived event is the event', () => {
  for (const [field, type] of opsLogs) assert.equal(archive.get(field), type, `${field} is ${type} in ops-logs`);
});

test('every Avro field of ops.logs is mapped, and the archive object is', () => {
  const leaves = (type: { fields?: { name: string; type: unknown }[] }, prefix = ''): string[] =>
    (type.fields ?? []).flatMap((field) => {
      const branches = (Array.isArray(field.type) ? field.type : [field.type]) as { type?: string; fields?: unknown }[];
      const record = branches.find((b) => typeof b === 'object' && b?.type === 'record');
      return record ? leaves(record as never, `${prefix}${field.name}.`) : [`${prefix}${field.name}`];
    });
  for (const field of leaves(domainCodec('ops.logs').type.schema() as never)) assert.ok(archive.has(field), `${field} is not mapped`);
  for (const field of ['archive.reasons', 'archive.triggers.id', 'archive.triggers.timestamp', 'archive.triggers.level', 'archive.triggers.level_number', 'archive.triggers.service', 'archive.triggers.request_id', 'archive.triggers.reason', 'archive.triggers.distance_ms', 'archive.triggers_truncated', 'archive.first_archived_at']) {
    assert.ok(archive.has(field), `${field} is not mapped`);
  }
});

test('the template set: strict mappings, monthly indices <prefix>ops-archive-*, a retention policy without a delete phase', () => {
  const set = templateSet(archiveIndexBase, { prefix: 'p-', layout: 'monthly', ilm: true });
  assert.deepEqual(set.indexTemplate.index_patterns, ['p-ops-archive-*']);
  assert.equal(familyMappings(set).dynamic, 'strict');
  assert.ok(set.lifecyclePolicy && !('delete' in set.lifecyclePolicy.policy.phases));
});
