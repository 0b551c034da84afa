import type { ArchiveReason, Association } from './window.js';

/** One trigger an event was archived for, as the archive document stores it. */
export interface ArchivedTrigger {
  id: string;
  timestamp: string;
  level: string;
  level_number: number;
  service?: string;
  request_id?: string;
  reason: ArchiveReason;
  /** |event time − trigger time| in milliseconds */
  distance_ms: number;
}

/** The `archive` object of an archive document: why the event is there. */
export interface ArchiveSection {
  /** every reason the event was archived for: trigger, request, service-window */
  reasons: ArchiveReason[];
  /** closest first (then by id), at most maxTriggersPerEvent */
  triggers: ArchivedTrigger[];
  /** more triggers wanted the event than are listed */
  triggers_truncated: boolean;
  /** when Tally first archived it (kept by every later write) */
  first_archived_at: string;
}

const reasonOrder: readonly ArchiveReason[] = ['trigger', 'request', 'service-window'];

export function archiveSection(associations: readonly Association[], truncated: boolean, archivedAt: Date): ArchiveSection {
  const triggers = associations.map(({ trigger, reason, distanceMs }): ArchivedTrigger => ({
    id: trigger.id,
    timestamp: new Date(trigger.timeMs).toISOString(),
    level: trigger.level,
    level_number: trigger.levelNumber,
    ...(trigger.service !== null ? { service: trigger.service } : {}),
    ...(trigger.request !== null ? { request_id: trigger.request } : {}),
    reason,
    distance_ms: distanceMs,
  }));
  return { reasons: reasonsOf(triggers), triggers, triggers_truncated: truncated, first_archived_at: archivedAt.toISOString() };
}

/**
 * What a write leaves in the document: the union of what is stored and what this run found, so a
 * replay that sees fewer triggers (their contexts were committed before a crash) never removes one.
 * The kept triggers are the closest of the union, so the result does not depend on write order.
 */
export function mergeArchiveSections(stored: ArchiveSection | undefined, fresh: ArchiveSection, maxTriggers: number): ArchiveSection {
  if (!stored) return fresh;
  const byId = new Map<string, ArchivedTrigger>();
  for (const trigger of [...stored.triggers, ...fresh.triggers]) if (!byId.has(trigger.id)) byId.set(trigger.id, trigger);
  const all = [...byId.values()].sort((a, b) => a.distance_ms - b.distance_ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const triggers = all.slice(0, maxTriggers);
  const reasons = new Set([...stored.reasons, ...fresh.reasons]);
  return {
    reasons: reasonOrder.filter((r) => reasons.has(r)),
    triggers,
    triggers_truncated: stored.triggers_truncated || fresh.triggers_truncated || all.length > maxTriggers,
    first_archived_at: stored.first_archived_at < fresh.first_archived_at ? stored.first_archived_at : fresh.first_archived_at,
  };
}

/** The stored `archive` object, when a document has one that looks like ours. */
export function storedSection(source: unknown): ArchiveSection | undefined {
  const archive = (source as { archive?: Partial<ArchiveSection> } | undefined)?.archive;
  if (!archive || !Array.isArray(archive.triggers) || !Array.isArray(archive.reasons) || typeof archive.first_archived_at !== 'string') return undefined;
  return { reasons: archive.reasons, triggers: archive.triggers, triggers_truncated: archive.triggers_truncated === true, first_archived_at: archive.first_archived_at };
}

function reasonsOf(triggers: readonly ArchivedTrigger[]): ArchiveReason[] {
  const present = new Set(triggers.map((t) => t.reason));
  return reasonOrder.filter((r) => present.has(r));
}
