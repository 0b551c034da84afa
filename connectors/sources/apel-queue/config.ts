import { Ajv } from 'ajv';
import { describeSchemaError } from '../../../pipeline/config/schema-errors.js';
import { TallyError } from '../../../pipeline/errors.js';

/**
 * Configuration of `tally apel-queue`, the reader of an SSM outgoing queue (the dirq QueueSimple
 * directory cASO's SSM messenger writes). Names follow dirq where it has one: staleTemporarySeconds
 * and staleLockSeconds are purge()'s maxtemp and maxlock.
 */
export interface ApelQueueSourceConfig {
  /** the queue directory itself (cASO's [ssm] output_path; default there /var/spool/apel/outgoing/openstack) */
  path: string;
  /** messages go to raw.<kind>, rejected elements to dlq.<kind> */
  kind: string;
  /** wait between passes over a queue that had nothing to read */
  pollIntervalMs: number;
  /** elements locked and sent to Kafka in one send */
  batchMaxElements: number;
  /** summed Kafka value bytes per send (a partition's share of a send is one record batch, which the broker's message.max.bytes bounds) */
  batchMaxBytes: number;
  /** an element whose Kafka value would exceed this is set aside in rejectPath and dead-lettered (stay under the broker's message.max.bytes) */
  maxRecordBytes: number;
  /** purge (stale .tmp and .lck files, empty directories) at most this often; SSM purges after every run */
  purgeIntervalMs: number;
  /** a lock older than this belongs to a dead reader and is removed (dirq purge maxlock: 600); 0 never */
  staleLockSeconds: number;
  /** a .tmp older than this belongs to a dead writer and is removed (dirq purge maxtemp: 300); 0 never */
  staleTemporarySeconds: number;
  /** where elements too large for Kafka are moved to; must be on the queue's filesystem. Default <path>/rejected (dirq and SSM ignore non-hex names) */
  rejectPath?: string;
  /** create the queue directory when missing, as dirq's QueueSimple() does */
  createQueue: boolean;
  retryInitialMs: number;
  retryMaxMs: number;
}

export type ApelQueueSourceConfigInput = Partial<ApelQueueSourceConfig> & { path: string };

const int = (minimum: number, def: number, maximum?: number) => ({ type: 'integer', minimum, ...(maximum !== undefined ? { maximum } : {}), default: def });

/** JSON Schema of the `apelQueue` section; schemas/json/config.schema.json can embed it. */
export const apelQueueConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1 },
    kind: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$', default: 'apel-message' },
    pollIntervalMs: int(10, 1000),
    batchMaxElements: int(1, 100, 10_000),
    batchMaxBytes: int(1024, 1_000_000),
    maxRecordBytes: int(1024, 1_000_000),
    purgeIntervalMs: int(0, 60_000),
    staleLockSeconds: int(0, 600),
    staleTemporarySeconds: int(0, 300),
    rejectPath: { type: 'string', minLength: 1 },
    createQueue: { type: 'boolean', default: true },
    retryInitialMs: int(1, 250),
    retryMaxMs: int(1, 10_000),
  },
} as const;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictTypes: false });
const validate = ajv.compile(apelQueueConfigSchema);

export function resolveApelQueueConfig(input: ApelQueueSourceConfigInput | unknown, origin = 'apelQueue'): ApelQueueSourceConfig {
  const candidate = structuredClone(input ?? {}) as Record<string, unknown>;
  if (!validate(candidate)) {
    const reasons = (validate.errors ?? []).map((e) => describeSchemaError(e, origin));
    throw new TallyError('CONFIG_INVALID', `apel-queue configuration is invalid:\n  - ${reasons.join('\n  - ')}`, { details: { reasons } });
  }
  const config = candidate as unknown as ApelQueueSourceConfig;
  const problems: string[] = [];
  if (config.retryMaxMs < config.retryInitialMs) problems.push(`${origin}.retryMaxMs: must be at least retryInitialMs (${config.retryInitialMs})`);
  if (config.batchMaxBytes < config.maxRecordBytes) problems.push(`${origin}.batchMaxBytes: must be at least maxRecordBytes (${config.maxRecordBytes}), or a single element could never be sent`);
  if (problems.length) throw new TallyError('CONFIG_INVALID', `apel-queue configuration is invalid:\n  - ${problems.join('\n  - ')}`, { details: { reasons: problems } });
  return config;
}
