import { Ajv } from 'ajv';
import { describeSchemaError } from '../../../pipeline/config/schema-errors.js';
import { TallyError } from '../../../pipeline/errors.js';

/**
 * Configuration of `tally archive`, the incident archive: parse (JSON Schema, defaults), then
 * derive and check what the schema cannot say. Windows are in event time (the log line's own time).
 */
export const levelNumbers = { TRACE: 5, DEBUG: 10, INFO: 20, AUDIT: 21, WARNING: 30, ERROR: 40, CRITICAL: 50 } as const;
export type LevelName = keyof typeof levelNumbers;

export interface ArchiveConfig {
  groupId: string;
  /** an event at this level or higher (log.level_number) is a trigger */
  minLevel: LevelName;
  /** ±seconds around a trigger in which a request with an event on the trigger's service counts as in flight */
  windowSeconds: number;
  /** ±seconds around a trigger from which the trigger's own request is archived (defaults to windowSeconds) */
  requestWindowSeconds: number;
  /** how far behind the newest event time an event may still arrive and be taken into account */
  latenessSeconds: number;
  /** a partition that delivers nothing for this long no longer holds event time back; when all are quiet, event time follows the wall clock */
  idleSeconds: number;
  /** events held as possible context; at the cap the oldest are released early (counted as evicted) */
  maxBufferedEvents: number;
  /** the same cap in bytes of the held Avro values */
  maxBufferedBytes: number;
  /** triggers kept per archived event, closest first; more are counted by archive.triggers_truncated */
  maxTriggersPerEvent: number;
  /** messages delivered and not yet committable before the consumer pauses (defaults to 4 × maxBufferedEvents) */
  maxInFlight: number;
  /** how often the window is advanced without new events (quiet topics) */
  tickMs: number;
  concurrency: number;
  flushBytes: number;
  maxBackoffMs: number;
}

export type ArchiveConfigInput = Partial<ArchiveConfig>;

const int = (minimum: number, def?: number, maximum?: number) => ({ type: 'integer', minimum, ...(maximum !== undefined ? { maximum } : {}), ...(def !== undefined ? { default: def } : {}) });
const seconds = (def?: number) => ({ type: 'number', exclusiveMinimum: 0, maximum: 86_400, ...(def !== undefined ? { default: def } : {}) });

/** JSON Schema of the `archive` section; schemas/json/config.schema.json can embed it. */
export const archiveConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    groupId: { type: 'string', minLength: 1, default: 'tally-archive' },
    minLevel: { enum: Object.keys(levelNumbers), default: 'WARNING' },
    windowSeconds: seconds(60),
    requestWindowSeconds: seconds(),
    latenessSeconds: { type: 'number', minimum: 0, maximum: 86_400, default: 30 },
    idleSeconds: seconds(10),
    maxBufferedEvents: int(1, 50_000),
    maxBufferedBytes: int(1024, 128 * 1024 * 1024),
    maxTriggersPerEvent: int(1, 32, 10_000),
    maxInFlight: int(2),
    tickMs: int(10, 1000, 60_000),
    concurrency: int(1, 2, 16),
    flushBytes: int(1024, 5_000_000),
    maxBackoffMs: int(1, 30_000),
  },
} as const;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictTypes: false });
const validate = ajv.compile(archiveConfigSchema);

export function resolveArchiveConfig(input: ArchiveConfigInput | unknown = {}, origin = 'archive'): ArchiveConfig {
  const candidate = structuredClone(input ?? {}) as Record<string, unknown>;
  if (!validate(candidate)) {
    const reasons = (validate.errors ?? []).map((e) => describeSchemaError(e, origin));
    throw new TallyError('CONFIG_INVALID', `archive configuration is invalid:\n  - ${reasons.join('\n  - ')}`, { details: { reasons } });
  }
  const given = candidate as Partial<ArchiveConfig> & Omit<ArchiveConfig, 'requestWindowSeconds' | 'maxInFlight'>;
  const config: ArchiveConfig = { ...given, requestWindowSeconds: given.requestWindowSeconds ?? given.windowSeconds, maxInFlight: given.maxInFlight ?? 4 * given.maxBufferedEvents };
  if (config.maxInFlight < 2 * config.maxBufferedEvents) {
    const problem = `${origin}.maxInFlight: must be at least 2 × maxBufferedEvents (${2 * config.maxBufferedEvents}): archived events stay uncommitted a while after they leave the buffer, and a consumer paused below the cap would stop event time`;
    throw new TallyError('CONFIG_INVALID', `archive configuration is invalid:\n  - ${problem}`, { details: { reasons: [problem] } });
  }
  return config;
}
