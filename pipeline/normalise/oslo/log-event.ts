import type { RejectionReason } from '../../dlq.js';
import type { RawEnvelope } from '../../envelope.js';
import { lineRecordId } from '../common/record-id.js';
import { envelopeHost, envelopeTags, logSourceOf } from '../common/source.js';
import type { NormalisedRecord } from '../types.js';
import type { WsgiAccess } from './message.js';

/** schemas/avro/ops.logs.avsc as a TypeScript value, and the record id and Kafka key rules. */

export const opsLogsTopic = 'ops.logs';

export interface OpsLogEvent {
  id: string;
  timestamp: number;
  log: {
    level: string;
    level_number: number;
    logger: string;
    format: 'text' | 'json';
    origin_function: string | null;
    origin_file: string | null;
    origin_line: number | null;
    file: { path: string | null };
    offset: number | null;
    flags: string[];
  };
  service: { name: string | null };
  process: { pid: number | null; name: string | null };
  host: { name: string | null };
  transaction_id: string | null;
  trace_id: string | null;
  user: { id: string | null; name: string | null; domain: string | null };
  project: { id: string | null; name: string | null; domain: string | null };
  domain_id: string | null;
  system_scope: string | null;
  user_identity: string | null;
  cloud_instance_id: string | null;
  message: string;
  error_type: string | null;
  error_message: string | null;
  error_stack_trace: string | null;
  http: {
    method: string;
    path: string;
    query: string | null;
    version: string | null;
    status_code: number;
    bytes: number | null;
    duration_ms: number | null;
    microversion: string | null;
  } | null;
  source: { ip: string | null };
  tags: string[];
}

/** What a reader of a text or JSON line knows; the record adds the id, the envelope's coordinates and tags. */
export type OpsLogFacts = Omit<OpsLogEvent, 'id' | 'log' | 'host' | 'tags' | 'http' | 'source'> & {
  level: string;
  levelNumber?: number | null;
  logger: string;
  format: 'text' | 'json';
  origin: { function: string | null; file: string | null; line: number | null };
  host: string | null;
  access: WsgiAccess | null;
};

/** A text or JSON line read: its facts, or the reason it cannot be one (the origin is added by the normaliser). */
export type LineReading = { ok: true; facts: OpsLogFacts } | { ok: false; reason: Omit<RejectionReason, 'message'> & { text: string } };

const levelNumbers: Record<string, number> = { TRACE: 5, DEBUG: 10, INFO: 20, AUDIT: 21, WARNING: 30, WARN: 30, ERROR: 40, CRITICAL: 50, FATAL: 50 };

export function levelNumberOf(level: string): number {
  const upper = level.toUpperCase();
  return Object.hasOwn(levelNumbers, upper) ? (levelNumbers[upper] as number) : 0;
}

/**
 * The id: the accounting rule over the event's first line when the envelope has file coordinates
 * (so a replay that joins a traceback differently still overwrites the same document), over the
 * whole message otherwise. The Kafka key: the global request id, else the request id, else the id,
 * so one request's events, and every local request a global one spans, stay on one partition.
 */
export function opsLogRecord(facts: OpsLogFacts, envelope: RawEnvelope): NormalisedRecord {
  const source = logSourceOf(envelope);
  const firstLine = envelope.message.split('\n', 1)[0] ?? '';
  const id = lineRecordId(envelope, source.offset === null ? envelope.message : firstLine);
  const access = facts.access;
  const value: OpsLogEvent = {
    id,
    timestamp: facts.timestamp,
    log: {
      level: facts.level,
      level_number: facts.levelNumber ?? levelNumberOf(facts.level),
      logger: facts.logger,
      format: facts.format,
      origin_function: facts.origin.function,
      origin_file: facts.origin.file,
      origin_line: facts.origin.line,
      file: source.file,
      offset: source.offset,
      flags: source.flags,
    },
    service: facts.service,
    process: facts.process,
    host: { name: facts.host ?? envelopeHost(envelope) },
    transaction_id: facts.transaction_id,
    trace_id: facts.trace_id,
    user: facts.user,
    project: facts.project,
    domain_id: facts.domain_id,
    system_scope: facts.system_scope,
    user_identity: facts.user_identity,
    cloud_instance_id: facts.cloud_instance_id,
    message: facts.message,
    error_type: facts.error_type,
    error_message: facts.error_message,
    error_stack_trace: facts.error_stack_trace,
    http: access
      ? { method: access.method, path: access.path, query: access.query, version: access.version, status_code: access.status, bytes: access.bytes, duration_ms: access.durationMs, microversion: access.microversion }
      : null,
    source: { ip: access?.client ?? null },
    tags: envelopeTags(envelope),
  };
  return { topic: opsLogsTopic, id, key: value.trace_id ?? value.transaction_id ?? id, value: value as unknown as Record<string, unknown> };
}
