import type { AuditFacts } from '../common/audit-event.js';

/** What one OpenStack input says as an audit event, before its id. */
export interface OpenStackReading {
  facts: Omit<AuditFacts, 'id' | 'timestamp'>;
  /** epoch milliseconds, undefined when the input states no readable time */
  timestamp: number | undefined;
  /** the input's own identity (a notification's message_id, a CADF id with its outcome), or null to take the line's */
  businessKey: string[] | null;
}

/** The request context of the oslo.log line a notification was logged in (oslo.messaging's `log` driver). */
export interface WrapperContext {
  requestId: string | null;
  globalRequestId: string | null;
  userId: string | null;
  projectId: string | null;
  host: string | null;
}

/** event.type from an action's verb (CADF prefixes, Nova method names) */
export function typeOfVerb(action: string): string {
  const verb = action.toLowerCase();
  if (/^(?:create|add|post|new|regist|boot|spawn|run)/.test(verb)) return 'creation';
  if (/^(?:delete|remove|destroy|terminate)/.test(verb)) return 'deletion';
  if (/^(?:update|set|change|modify|put|patch|reboot|resize|rebuild|migrate|stop|start|pause|unpause|suspend|resume|lock|unlock|rescue|unrescue|shelve|unshelve|attach|detach|enable|disable)/.test(verb)) return 'change';
  if (/^(?:read|get|list|show|index|detail|head|search)/.test(verb)) return 'access';
  return 'info';
}
