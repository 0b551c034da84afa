import path from 'node:path';
import { Ajv } from 'ajv';
import { describeSchemaError } from '../../../pipeline/config/schema-errors.js';
import { TallyError } from '../../../pipeline/errors.js';
import { compileGlob, type CompiledGlob } from './glob.js';

/**
 * Configuration of one file-tail input (`tally ship`): parse (JSON Schema, defaults), then build
 * (compile globs and regexes, apply the kind's defaults). Names follow Filebeat where one exists.
 */
export interface FileTailConfig {
  /** glob patterns of the files to read (`*`, `?`, `[...]`, `**`); relative ones resolve against the working directory */
  paths: string[];
  /** regexes on the full path of files to skip; default skips compressed rotations */
  excludeFiles: string[];
  /** the kind: lines go to raw.<kind>, rejects to dlq.<kind> */
  kind: string;
  /** keep only lines matching at least one of these (JavaScript RegExp source; a leading `(?i)` means case-insensitive) */
  include: string[] | undefined;
  /** then drop lines matching any of these */
  exclude: string[];
  tags: string[] | undefined;
  fields: Record<string, unknown>;
  /** a line longer than this (without its terminator) is not sent: its first bytes go to dlq.<kind> */
  maxLineBytes: number;
  /** an encoded envelope over this is treated like an over-long line (keep under the broker's message.max.bytes) */
  maxRecordBytes: number;
  /** a line that is not valid UTF-8: `dlq` (typed error and DLQ entry) or `replace` (U+FFFD, as Filebeat does) */
  invalidUtf8: 'dlq' | 'replace';
  scanIntervalMs: number;
  /** how often an open file at its end is checked for growth */
  pollIntervalMs: number;
  closeInactiveMs: number;
  cleanRemoved: boolean;
  registryPath: string;
  registryFlushMs: number;
  /** a registry with no usable version (main and backup damaged): `reread` every file from its start (duplicates, no loss), or `refuse` to start */
  corruptRegistry: 'reread' | 'refuse';
  batchMaxLines: number;
  /** summed value bytes per send (the broker refuses a per-partition batch over message.max.bytes, 1 MB by default) */
  batchMaxBytes: number;
  lingerMs: number;
  /** lines read but not yet acknowledged before reading pauses (backpressure) */
  maxQueuedLines: number;
  /** sends awaiting Kafka at once with the rdkafka backend (kafkajs: always 1, it may reorder concurrent sends); 1 keeps order even across retries, more is faster and a retried batch may then land after a later one */
  maxInFlightSends: number;
  fingerprintBytes: number;
  maxOpenFiles: number;
  readChunkBytes: number;
  /** the rotation suffix stripped from a path to name its stream (x.log.1 and x.log are one stream) */
  rotationSuffix: string;
  /** Kafka key: `stream` (host + stream path: one file's lines stay in order on one partition, across rotations) or `line` (host + file identity + offset: spread over partitions) */
  keyBy: 'stream' | 'line';
  /** how long a new file whose first bytes equal a still-live file's waits to be told apart from a copytruncate copy */
  copyGraceMs: number;
  /** how long the state of a truncated file is kept for its copy to continue from */
  detachedTtlMs: number;
}

export type FileTailConfigInput = Partial<FileTailConfig> & { paths: string[] };

/** The NEANIAS default, Filebeat's `drop_event.when.not.regexp.message: '"[lL]evel"\s*:\s*"accounting"'`. */
export const accountingLineFilter = String.raw`"[lL]evel"\s*:\s*"accounting"`;

const kindDefaults: Record<string, { include?: string[]; tags?: string[] }> = {
  accounting: { include: [accountingLineFilter], tags: ['accounting'] },
};

const ms = (minimum: number, def: number) => ({ type: 'integer', minimum, default: def });

/** JSON Schema of one input; the `ship` section of schemas/json/config.schema.json can embed it. */
export const fileTailConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['paths'],
  properties: {
    paths: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    excludeFiles: { type: 'array', items: { type: 'string' }, default: [String.raw`\.(gz|bz2|xz|zst|zip)$`] },
    kind: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$', default: 'accounting' },
    include: { type: 'array', items: { type: 'string' } },
    exclude: { type: 'array', items: { type: 'string' }, default: [] },
    tags: { type: 'array', items: { type: 'string' } },
    fields: { type: 'object', default: {} },
    maxLineBytes: { type: 'integer', minimum: 16, default: 524_288 },
    maxRecordBytes: { type: 'integer', minimum: 1024, default: 1_000_000 },
    invalidUtf8: { enum: ['dlq', 'replace'], default: 'dlq' },
    scanIntervalMs: ms(10, 2000),
    pollIntervalMs: ms(5, 50),
    closeInactiveMs: ms(0, 300_000),
    cleanRemoved: { type: 'boolean', default: true },
    registryPath: { type: 'string', minLength: 1 },
    registryFlushMs: ms(0, 1000),
    corruptRegistry: { enum: ['reread', 'refuse'], default: 'reread' },
    batchMaxLines: { type: 'integer', minimum: 1, default: 2048 },
    batchMaxBytes: { type: 'integer', minimum: 1024, default: 900_000 },
    lingerMs: ms(0, 20),
    maxQueuedLines: { type: 'integer', minimum: 1, default: 8192 },
    maxInFlightSends: { type: 'integer', minimum: 1, maximum: 16, default: 2 },
    fingerprintBytes: { type: 'integer', minimum: 16, maximum: 1_048_576, default: 1024 },
    maxOpenFiles: { type: 'integer', minimum: 1, default: 1024 },
    readChunkBytes: { type: 'integer', minimum: 4096, default: 1_048_576 },
    rotationSuffix: { type: 'string', default: String.raw`(\.\d+|[-.]\d{8}(\d{2,6})?)$` },
    keyBy: { enum: ['stream', 'line'], default: 'stream' },
    copyGraceMs: ms(0, 5000),
    detachedTtlMs: ms(0, 600_000),
  },
} as const;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictTypes: false });
const validate = ajv.compile(fileTailConfigSchema);

/** Validate, apply defaults (the kind's too), and check every regex compiles; errors name the key. */
export function resolveFileTailConfig(input: unknown, origin = 'ship'): FileTailConfig {
  const candidate = structuredClone(input) as Record<string, unknown>;
  if (!validate(candidate)) {
    const reasons = (validate.errors ?? []).map((e) => describeSchemaError(e, origin));
    throw new TallyError('CONFIG_INVALID', `file-tail configuration is invalid:\n  - ${reasons.join('\n  - ')}`, { details: { reasons } });
  }
  const config = candidate as unknown as FileTailConfig;
  const defaults = kindDefaults[config.kind] ?? {};
  config.include ??= defaults.include;
  config.tags ??= defaults.tags ?? [];
  config.registryPath ??= path.resolve('data', 'registry', `file-tail.${config.kind}.json`);
  const problems: string[] = [];
  const check = (key: string, list: string[] | undefined) =>
    list?.forEach((source, i) => {
      try {
        toRegExp(source);
      } catch (error) {
        problems.push(`${origin}.${key}[${i}]: ${JSON.stringify(source)} is not a valid regular expression: ${(error as Error).message}`);
      }
    });
  check('include', config.include);
  check('exclude', config.exclude);
  check('excludeFiles', config.excludeFiles);
  check('rotationSuffix', [config.rotationSuffix]);
  if (config.batchMaxLines > config.maxQueuedLines) problems.push(`${origin}.maxQueuedLines: must be at least batchMaxLines (${config.batchMaxLines})`);
  if (problems.length) throw new TallyError('CONFIG_INVALID', `file-tail configuration is invalid:\n  - ${problems.join('\n  - ')}`, { details: { reasons: problems } });
  return config;
}

/** A RegExp from configuration text; Go's leading `(?i)` becomes the `i` flag. */
export function toRegExp(source: string): RegExp {
  return source.startsWith('(?i)') ? new RegExp(source.slice(4), 'i') : new RegExp(source);
}

/** Filebeat's include_lines then exclude_lines, as one predicate on the line text. */
export function lineFilter(config: Pick<FileTailConfig, 'include' | 'exclude'>): (line: string) => boolean {
  const include = (config.include ?? []).map(toRegExp);
  const exclude = config.exclude.map(toRegExp);
  if (include.length === 0 && exclude.length === 0) return () => true;
  return (line) => (include.length === 0 || include.some((re) => re.test(line))) && !exclude.some((re) => re.test(line));
}

export function compiledGlobs(config: Pick<FileTailConfig, 'paths'>): CompiledGlob[] {
  return config.paths.map(compileGlob);
}
