import type { ArchiveReason, WindowEvent } from '../../../../connectors/sinks/archive/window.js';

export interface OracleSettings {
  windowMs: number;
  requestWindowMs: number;
  minLevelNumber: number;
}

/**
 * The archive as the requirement defines it, computed from every event at once (no streaming):
 * event id → trigger id → reason. The window must arrive at the same answer.
 */
export function expectedArchive(events: readonly Pick<WindowEvent, 'id' | 'timeMs' | 'levelNumber' | 'service' | 'request'>[], settings: OracleSettings): Map<string, Map<string, ArchiveReason>> {
  const archive = new Map<string, Map<string, ArchiveReason>>();
  const add = (eventId: string, triggerId: string, reason: ArchiveReason) => {
    const triggers = archive.get(eventId) ?? new Map<string, ArchiveReason>();
    triggers.set(triggerId, reason);
    archive.set(eventId, triggers);
  };
  for (const trigger of events) {
    if (trigger.levelNumber < settings.minLevelNumber) continue;
    const near = (e: { timeMs: number }, ms: number) => Math.abs(e.timeMs - trigger.timeMs) <= ms;
    const inFlight = new Set(events.filter((e) => trigger.service !== null && e.service === trigger.service && e.request !== null && near(e, settings.windowMs)).map((e) => e.request));
    for (const event of events) {
      if (event.id === trigger.id) add(event.id, trigger.id, 'trigger');
      else if (trigger.request !== null && event.request === trigger.request && near(event, settings.requestWindowMs)) add(event.id, trigger.id, 'request');
      else if (event.request !== null && inFlight.has(event.request) && near(event, settings.windowMs)) add(event.id, trigger.id, 'service-window');
    }
  }
  return archive;
}
