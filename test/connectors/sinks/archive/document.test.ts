import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { archiveSection, mergeArchiveSections, storedSection, type ArchiveSection, type ArchivedTrigger } from '../../../../connectors/sinks/archive/document.js';
import type { ArchiveReason } from '../../../../connectors/sinks/archive/window.js';

test('the archive object says why: each trigger with its time, level, service, request, reason and distance; the reasons; when first archived', () => {
  const section = archiveSection(
    [
      { trigger: { id: 't1', timeMs: Date.UTC(2026, 2, 10, 12), level: 'ERROR', levelNumber: 40, service: 'nova', request: 'req-1' }, reason: 'request', distanceMs: 2000 },
      { trigger: { id: 't2', timeMs: Date.UTC(2026, 2, 10, 12, 0, 30), level: 'WARNING', levelNumber: 30, service: null, request: null }, reason: 'service-window', distanceMs: 28_000 },
    ],
    false,
    new Date(Date.UTC(2026, 2, 10, 13)),
  );
  assert.deepEqual(section, {
    reasons: ['request', 'service-window'],
    triggers: [
      { id: 't1', timestamp: '2026-03-10T12:00:00.000Z', level: 'ERROR', level_number: 40, service: 'nova', request_id: 'req-1', reason: 'request', distance_ms: 2000 },
      { id: 't2', timestamp: '2026-03-10T12:00:30.000Z', level: 'WARNING', level_number: 30, reason: 'service-window', distance_ms: 28_000 },
    ],
    triggers_truncated: false,
    first_archived_at: '2026-03-10T13:00:00.000Z',
  });
  assert.deepEqual(storedSection({ archive: section }), section);
  assert.equal(storedSection({ message: 'no archive object' }), undefined);
});

const trigger: fc.Arbitrary<ArchivedTrigger> = fc
  .record({ n: fc.integer({ min: 0, max: 12 }), reason: fc.constantFrom<ArchiveReason>('trigger', 'request', 'service-window') })
  .map(({ n, reason }) => ({ id: `t${n}`, timestamp: new Date(n * 1000).toISOString(), level: 'ERROR', level_number: 40, reason, distance_ms: (n * 7919) % 60_000 }));

/** the same trigger id always has the same content, as it does for one event */
const section: fc.Arbitrary<ArchiveSection> = fc.record({ triggers: fc.uniqueArray(trigger, { selector: (t) => t.id, maxLength: 8 }), at: fc.integer({ min: 0, max: 1e6 }) }).map(({ triggers, at }) => {
  const fixed = triggers.map((t) => ({ ...t, reason: (['trigger', 'request', 'service-window'] as const)[Number(t.id.slice(1)) % 3] as ArchiveReason }));
  fixed.sort((a, b) => a.distance_ms - b.distance_ms || (a.id < b.id ? -1 : 1));
  return { reasons: [...new Set(fixed.map((t) => t.reason))].sort(), triggers: fixed.slice(0, 4), triggers_truncated: fixed.length > 4, first_archived_at: new Date(at).toISOString() } as ArchiveSection;
});

const normal = (s: ArchiveSection) => ({ ...s, reasons: [...s.reasons].sort() });

test('merging what is stored with what a run found never loses a trigger and does not depend on order or repetition', () => {
  fc.assert(
    fc.property(section, section, section, (a, b, c) => {
      const merge = (x: ArchiveSection, y: ArchiveSection) => mergeArchiveSections(x, y, 4);
      assert.deepEqual(normal(merge(a, b)), normal(merge(b, a)), 'order of writes');
      assert.deepEqual(normal(merge(merge(a, b), c)), normal(merge(a, merge(b, c))), 'grouping of writes');
      assert.deepEqual(normal(merge(merge(a, b), b)), normal(merge(a, b)), 'a replay writing the same again');
      const merged = merge(a, b);
      const union = new Map([...a.triggers, ...b.triggers].map((t) => [t.id, t]));
      const closest = [...union.values()].sort((x, y) => x.distance_ms - y.distance_ms || (x.id < y.id ? -1 : 1)).slice(0, 4);
      assert.deepEqual(merged.triggers, closest, 'the closest of the union are kept');
      assert.equal(merged.triggers_truncated, a.triggers_truncated || b.triggers_truncated || union.size > 4);
      assert.equal(merged.first_archived_at, a.first_archived_at < b.first_archived_at ? a.first_archived_at : b.first_archived_at);
    }),
    { numRuns: 500 },
  );
});
