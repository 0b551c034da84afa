import type { RawEnvelope } from '../../envelope.js';
import type { NormalisedRecord } from '../types.js';
import { envelopeHost, envelopeTags, logSourceOf } from './source.js';

/** schemas/avro/audit.events.avsc as a TypeScript value: what ror-audit and openstack-audit build. */

export const auditTopic = 'audit.events';

export interface AuditEvent {
  id: string;
  timestamp: number;
  event: {
    kind: 'event';
    module: 'ror' | 'openstack';
    dataset: string;
    provider: string | null;
    action: string;
    category: string[];
    type: string[];
    outcome: 'success' | 'failure' | 'unknown' | null;
    reason: string | null;
    id: string | null;
    severity: string | null;
    duration: number | null;
  };
  user: { id: string | null; name: string | null; domain: string | null; roles: string[] };
  project: { id: string | null; name: string | null; domain: string | null };
  service: { name: string | null; type: string | null };
  host: { name: string | null };
  source: { ip: string | null };
  user_agent: string | null;
  target: { type: string | null; id: string | null; name: string | null };
  transaction_id: string | null;
  trace_id: string | null;
  http: { method: string | null; status_code: number | null; path: string | null };
  details: Record<string, string>;
  details_lists: Record<string, string[]>;
  log: { original: string; file: { path: string | null }; offset: number | null; flags: string[] };
  tags: string[];
}

/** What a normaliser knows about one event; everything else takes its empty value. */
export interface AuditFacts {
  id: string;
  timestamp: number;
  module: AuditEvent['event']['module'];
  dataset: string;
  action: string;
  provider?: string | null;
  category?: string[];
  type?: string[];
  outcome?: AuditEvent['event']['outcome'];
  reason?: string | null;
  eventId?: string | null;
  severity?: string | null;
  duration?: number | null;
  user?: Partial<AuditEvent['user']>;
  project?: Partial<AuditEvent['project']>;
  service?: Partial<AuditEvent['service']>;
  /** the host the event happened on; the shipping host when not given */
  host?: string | null;
  sourceIp?: string | null;
  userAgent?: string | null;
  target?: Partial<AuditEvent['target']>;
  transactionId?: string | null;
  traceId?: string | null;
  http?: Partial<AuditEvent['http']>;
  details?: Record<string, string>;
  detailsLists?: Record<string, string[]>;
}

/** One audit.events record in schema order, keyed by its id. */
export function auditRecord(facts: AuditFacts, envelope: RawEnvelope, original: string): NormalisedRecord {
  const source = logSourceOf(envelope);
  const value: AuditEvent = {
    id: facts.id,
    timestamp: facts.timestamp,
    event: {
      kind: 'event',
      module: facts.module,
      dataset: facts.dataset,
      provider: facts.provider ?? null,
      action: facts.action,
      category: facts.category ?? [],
      type: facts.type ?? [],
      outcome: facts.outcome ?? null,
      reason: facts.reason ?? null,
      id: facts.eventId ?? null,
      severity: facts.severity ?? null,
      duration: facts.duration ?? null,
    },
    user: { id: facts.user?.id ?? null, name: facts.user?.name ?? null, domain: facts.user?.domain ?? null, roles: facts.user?.roles ?? [] },
    project: { id: facts.project?.id ?? null, name: facts.project?.name ?? null, domain: facts.project?.domain ?? null },
    service: { name: facts.service?.name ?? null, type: facts.service?.type ?? null },
    host: { name: facts.host ?? envelopeHost(envelope) },
    source: { ip: facts.sourceIp ?? null },
    user_agent: facts.userAgent ?? null,
    target: { type: facts.target?.type ?? null, id: facts.target?.id ?? null, name: facts.target?.name ?? null },
    transaction_id: facts.transactionId ?? null,
    trace_id: facts.traceId ?? null,
    http: { method: facts.http?.method ?? null, status_code: facts.http?.status_code ?? null, path: facts.http?.path ?? null },
    // plain objects again (the builders use null-prototype maps, so a `__proto__` key stays a key)
    details: Object.fromEntries(Object.entries(facts.details ?? {})),
    details_lists: Object.fromEntries(Object.entries(facts.detailsLists ?? {})),
    log: { original, file: source.file, offset: source.offset, flags: source.flags },
    tags: envelopeTags(envelope),
  };
  return { topic: auditTopic, id: facts.id, value: value as unknown as Record<string, unknown> };
}

/** Bounds on the details map, so one odd input cannot make a huge record. */
const maxDetails = 128;
const maxDetailChars = 4096;

/** Adds text under a key when it is a non-empty scalar; objects go as JSON, cut short. Null-prototype maps keep `__proto__` a plain key. */
export function putDetail(details: Record<string, string>, key: string, value: unknown): void {
  if (value === undefined || value === null || value === '') return;
  if (!Object.hasOwn(details, key) && Object.keys(details).length >= maxDetails) return;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? '';
    } catch {
      return;
    }
  }
  details[key] = text.length > maxDetailChars ? `${text.slice(0, maxDetailChars)}…` : text;
}

export function emptyDetails(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}
