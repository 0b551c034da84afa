import { Ajv } from 'ajv';
import { describeSchemaError } from '../../../pipeline/config/schema-errors.js';
import { TallyError } from '../../../pipeline/errors.js';
import { defaultLimits, type LumberjackLimits } from './frames.js';

/**
 * Configuration of `tally beats`, the lumberjack server Filebeat's output.logstash talks to: parse
 * (JSON Schema, defaults), then check what the schema cannot say. Names follow Logstash's beats
 * input where one exists (client_inactivity_timeout → idleTimeoutMs, ssl_client_authentication →
 * tls.clientCertificates, ssl_certificate_authorities → tls.caFiles).
 */
export interface BeatsTlsConfig {
  certFile: string;
  keyFile: string;
  /** PEM files of the CAs that sign client certificates (a file may hold several) */
  caFiles: string[];
  /** `none`: no client certificate asked; `optional`: asked, verified when given; `required`: refused without a valid one */
  clientCertificates: 'none' | 'optional' | 'required';
  handshakeTimeoutMs: number;
}

export interface BeatsSourceConfig extends LumberjackLimits {
  host: string;
  port: number;
  /** events go to raw.<kind>, rejected ones to dlq.<kind> */
  kind: string;
  /** a Kafka value over this becomes a dead letter (stay under the broker's message.max.bytes) */
  maxRecordBytes: number;
  /** decoded windows held per connection (one being sent, the rest queued) before reading pauses */
  maxPendingWindows: number;
  /** bytes held across all connections (received, not yet acknowledged) before they stop reading (see byte-budget.ts) */
  maxBufferedBytes: number;
  /** summed value bytes per Kafka send; a larger window is sent in slices, acknowledged after the last */
  sendMaxBytes: number;
  /** '2A 0' keepalive interval while a window waits for Kafka (Logstash 5 s, go-lumber 3 s; Filebeat gives up after 30 s) */
  keepaliveMs: number;
  /** a connection with nothing pending that sends nothing for this long is closed (Logstash's client_inactivity_timeout) */
  idleTimeoutMs: number;
  /** once a window or frame has begun, the rest must arrive within this (go-lumber's read timeout); drops one-byte-a-minute clients */
  windowTimeoutMs: number;
  maxConnections: number;
  retryInitialMs: number;
  retryMaxMs: number;
  tls?: BeatsTlsConfig;
}

export type BeatsSourceConfigInput = Partial<Omit<BeatsSourceConfig, 'tls'>> & { tls?: Partial<BeatsTlsConfig> & { certFile: string; keyFile: string } };

const int = (minimum: number, def: number, maximum?: number) => ({ type: 'integer', minimum, ...(maximum !== undefined ? { maximum } : {}), default: def });

/** JSON Schema of the `beats` section; schemas/json/config.schema.json can embed it. */
export const beatsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1, default: '0.0.0.0' },
    port: int(0, 5044, 65535),
    kind: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$', default: 'accounting' },
    maxWindowSize: int(1, defaultLimits.maxWindowSize, 0xffffffff),
    maxPayloadBytes: int(16, defaultLimits.maxPayloadBytes, 0xffffffff),
    maxCompressedBytes: int(16, defaultLimits.maxCompressedBytes, 0xffffffff),
    maxDecompressedBytes: int(16, defaultLimits.maxDecompressedBytes, 2 ** 31),
    maxWindowBytes: int(16, defaultLimits.maxWindowBytes, 2 ** 31),
    maxRecordBytes: int(1024, 1_000_000),
    maxPendingWindows: int(1, 2, 64),
    maxBufferedBytes: int(65_536, 256 * 1024 * 1024, 2 ** 40),
    sendMaxBytes: int(1024, 900_000),
    keepaliveMs: int(10, 5000, 25_000),
    idleTimeoutMs: int(10, 60_000),
    windowTimeoutMs: int(10, 30_000),
    maxConnections: int(1, 1000),
    retryInitialMs: int(1, 250),
    retryMaxMs: int(1, 10_000),
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['certFile', 'keyFile'],
      properties: {
        certFile: { type: 'string', minLength: 1 },
        keyFile: { type: 'string', minLength: 1 },
        caFiles: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
        clientCertificates: { enum: ['none', 'optional', 'required'], default: 'none' },
        handshakeTimeoutMs: int(10, 10_000),
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictTypes: false });
const validate = ajv.compile(beatsConfigSchema);

export function resolveBeatsConfig(input: BeatsSourceConfigInput | unknown = {}, origin = 'beats'): BeatsSourceConfig {
  const candidate = structuredClone(input ?? {}) as Record<string, unknown>;
  if (!validate(candidate)) {
    const reasons = (validate.errors ?? []).map((e) => describeSchemaError(e, origin));
    throw new TallyError('CONFIG_INVALID', `beats configuration is invalid:\n  - ${reasons.join('\n  - ')}`, { details: { reasons } });
  }
  const config = candidate as unknown as BeatsSourceConfig;
  const problems: string[] = [];
  const tls = config.tls;
  if (tls && tls.clientCertificates !== 'none' && tls.caFiles.length === 0) problems.push(`${origin}.tls.caFiles: client certificates "${tls.clientCertificates}" need at least one CA to verify them against`);
  if (tls && tls.clientCertificates === 'none' && tls.caFiles.length > 0) problems.push(`${origin}.tls.clientCertificates: CAs are given but client certificates are "none"; say "optional" or "required" (Logstash refuses this too)`);
  if (config.retryMaxMs < config.retryInitialMs) problems.push(`${origin}.retryMaxMs: must be at least retryInitialMs (${config.retryInitialMs})`);
  if (config.maxPayloadBytes > config.maxWindowBytes) problems.push(`${origin}.maxWindowBytes: must be at least maxPayloadBytes (${config.maxPayloadBytes})`);
  if (problems.length) throw new TallyError('CONFIG_INVALID', `beats configuration is invalid:\n  - ${problems.join('\n  - ')}`, { details: { reasons: problems } });
  return config;
}
