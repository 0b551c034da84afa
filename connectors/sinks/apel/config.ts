import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describeSchemaError } from '../../../pipeline/config/schema-errors.js';
import { TallyError } from '../../../pipeline/errors.js';

/**
 * Configuration of `tally sink apel`, which writes APEL messages into the SSM sender's outgoing
 * queue (a dirq QueueSimple directory; ssmsend's sender.cfg [messaging] path). Parse (JSON Schema,
 * defaults), then resolve what the schema cannot: octal modes and owner/group names to numbers.
 */
export interface ApelSinkConfig {
  /** the outgoing queue directory itself, e.g. /var/spool/apel/outgoing/openstack */
  path: string;
  groupId: string;
  /** logical domain topics to consume; cloud.energy has no APEL message and is skipped (counted) if listed */
  topics: string[];
  /** records per message (cASO's [ssm] max_size: 100; APEL and its JSON schemas allow 1000) */
  maxRecordsPerMessage: number;
  /** unsigned body bytes per message (AMS takes < 1 MB after signing and base64) */
  maxMessageBytes: number;
  /** a message is written at the latest this long after its first record arrived */
  flushIntervalMs: number;
  /** seconds per intermediate directory (dirq's granularity) */
  granularitySeconds: number;
  fileMode: number;
  directoryMode: number;
  /** numeric owner and group of the files and directories written (from a user or group name or a number) */
  uid?: number;
  gid?: number;
  /** write CpuDuration/WallDuration 0 as 1, as cASO's SSM messenger does */
  zeroDurationsAsOne: boolean;
  /** write cASO's per-record `uuid` key in public IP messages when a record has one */
  ipRecordUuid: boolean;
  /** records delivered by Kafka and not yet on disk before the consumer pauses */
  maxInFlight: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export type ApelSinkConfigInput = Partial<Omit<ApelSinkConfig, 'fileMode' | 'directoryMode' | 'uid' | 'gid'>> & { path: string; fileMode?: string; directoryMode?: string; owner?: string | number; group?: string | number };

export const apelRecordTopics = ['cloud.vm', 'cloud.ip', 'cloud.accelerator', 'cloud.storage'] as const;

const int = (minimum: number, def: number, maximum?: number) => ({ type: 'integer', minimum, ...(maximum !== undefined ? { maximum } : {}), default: def });
const mode = (def: string) => ({ type: 'string', pattern: '^0?[0-7]{3,4}$', default: def });
const account = { anyOf: [{ type: 'string', minLength: 1 }, { type: 'integer', minimum: 0 }] };

/** JSON Schema of the `sinks.apel` section; schemas/json/config.schema.json can embed it. */
export const apelSinkConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1 },
    groupId: { type: 'string', minLength: 1, default: 'tally-sink-apel' },
    topics: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...apelRecordTopics, 'cloud.energy'] }, default: [...apelRecordTopics] },
    maxRecordsPerMessage: int(1, 100, 1000),
    maxMessageBytes: int(4096, 512 * 1024, 700 * 1024),
    flushIntervalMs: int(1, 5000),
    granularitySeconds: int(1, 60),
    fileMode: mode('0664'),
    directoryMode: mode('0775'),
    owner: account,
    group: account,
    zeroDurationsAsOne: { type: 'boolean', default: true },
    ipRecordUuid: { type: 'boolean', default: true },
    maxInFlight: int(1, 20_000),
    retryInitialMs: int(1, 200),
    retryMaxMs: int(1, 30_000),
  },
} as const;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictTypes: false });
const validate = ajv.compile(apelSinkConfigSchema);

export function resolveApelSinkConfig(input: ApelSinkConfigInput | unknown, origin = 'sinks.apel'): ApelSinkConfig {
  const candidate = structuredClone(input ?? {}) as Record<string, unknown>;
  if (!validate(candidate)) {
    const reasons = (validate.errors ?? []).map((e) => describeSchemaError(e, origin));
    throw new TallyError('CONFIG_INVALID', `APEL sink configuration is invalid:\n  - ${reasons.join('\n  - ')}`, { details: { reasons } });
  }
  const { owner, group, fileMode, directoryMode, ...rest } = candidate as unknown as ApelSinkConfigInput & { fileMode: string; directoryMode: string };
  const problems: string[] = [];
  const uid = owner === undefined ? undefined : accountId(owner, '/etc/passwd', `${origin}.owner`, problems);
  const gid = group === undefined ? undefined : accountId(group, '/etc/group', `${origin}.group`, problems);
  const config: ApelSinkConfig = { ...(rest as Omit<ApelSinkConfig, 'fileMode' | 'directoryMode'>), fileMode: Number.parseInt(fileMode, 8), directoryMode: Number.parseInt(directoryMode, 8), ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) };
  if (config.retryMaxMs < config.retryInitialMs) problems.push(`${origin}.retryMaxMs: must be at least retryInitialMs (${config.retryInitialMs})`);
  if ((config.fileMode & 0o600) !== 0o600) problems.push(`${origin}.fileMode: the owner must be able to read and write the files (got ${fileMode})`);
  if (problems.length) throw new TallyError('CONFIG_INVALID', `APEL sink configuration is invalid:\n  - ${problems.join('\n  - ')}`, { details: { reasons: problems } });
  return config;
}

/** A user or group: a number as it is, a name looked up in /etc/passwd or /etc/group (the third field). */
function accountId(value: string | number, file: string, at: string, problems: string[]): number | undefined {
  if (typeof value === 'number') return value;
  if (/^\d+$/.test(value)) return Number(value);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    problems.push(`${at}: cannot read ${file} to look up "${value}"; give the number instead`);
    return undefined;
  }
  const line = text.split('\n').find((l) => l.split(':')[0] === value);
  const id = line?.split(':')[2];
  if (id === undefined || !/^\d+$/.test(id)) {
    problems.push(`${at}: "${value}" is not in ${file}`);
    return undefined;
  }
  return Number(id);
}
