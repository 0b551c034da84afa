import os from 'node:os';
import { TallyError } from './errors.js';

/**
 * The raw event every source writes to raw.<kind>: Filebeat's own event shape, so Filebeat's
 * output.kafka can write raw topics directly and the transform reads both alike.
 */
export interface RawEnvelope {
  '@timestamp': string;
  message: string;
  log?: { file?: { path?: string }; offset?: number };
  input?: { type?: string };
  tags?: string[];
  fields?: Record<string, unknown>;
  host?: { name?: string };
  agent?: { type?: string; version?: string; name?: string; hostname?: string; id?: string; ephemeral_id?: string };
  ecs?: { version?: string };
  /** where a network source got the event: the client address (HTTP, Beats) */
  source?: { address?: string };
  [key: string]: unknown;
}

export interface EnvelopeInput {
  message: string;
  inputType: 'filestream' | 'log' | 'beats' | 'http' | 'apel-queue' | 'stdin' | 'raw';
  path?: string;
  offset?: number;
  tags?: string[];
  fields?: Record<string, unknown>;
  clientAddress?: string;
  timestamp?: Date;
}

const hostName = os.hostname();
const agentVersion = '0.1.0';

export function buildEnvelope(input: EnvelopeInput): RawEnvelope {
  const envelope: RawEnvelope = {
    '@timestamp': (input.timestamp ?? new Date()).toISOString(),
    message: input.message,
    input: { type: input.inputType },
    host: { name: hostName },
    agent: { type: 'tally', name: hostName, version: agentVersion },
    ecs: { version: '8.0.0' },
  };
  if (input.path !== undefined || input.offset !== undefined) {
    envelope.log = { ...(input.path !== undefined ? { file: { path: input.path } } : {}), ...(input.offset !== undefined ? { offset: input.offset } : {}) };
  }
  if (input.tags?.length) envelope.tags = input.tags;
  if (input.fields && Object.keys(input.fields).length) envelope.fields = input.fields;
  if (input.clientAddress) envelope.source = { address: input.clientAddress };
  return envelope;
}

function looksLikeEnvelope(value: unknown): value is RawEnvelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.message === 'string' && ('@timestamp' in v || 'log' in v || 'input' in v || 'agent' in v || '@metadata' in v);
}

/**
 * Read one raw-topic value (or one line of `tally convert` input): a Filebeat-shaped envelope, or
 * anything else taken as the bare message. Never throws for content; only for bytes that are not UTF-8.
 */
export function readEnvelope(bytes: Buffer | string, origin: { inputType?: EnvelopeInput['inputType']; path?: string; offset?: number } = {}): RawEnvelope {
  const text = typeof bytes === 'string' ? bytes : decodeUtf8(bytes, origin);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (looksLikeEnvelope(parsed)) return parsed;
    } catch {
      /* not JSON: the bytes are the message itself */
    }
  }
  return buildEnvelope({ message: text.replace(/\r?\n$/, ''), inputType: origin.inputType ?? 'raw', ...(origin.path !== undefined ? { path: origin.path } : {}), ...(origin.offset !== undefined ? { offset: origin.offset } : {}) });
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function decodeUtf8(bytes: Buffer, origin: { path?: string; offset?: number }): string {
  try {
    return strictUtf8.decode(bytes);
  } catch (error) {
    const where = origin.path ? ` from ${origin.path}${origin.offset !== undefined ? ` at byte ${origin.offset}` : ''}` : '';
    throw new TallyError('RECORD_UNPARSABLE', `input${where} is not valid UTF-8`, { cause: error });
  }
}

/** Where an event came from, in words: "line at byte 812 of /var/log/x.json on host h". */
export function describeOrigin(envelope: RawEnvelope): string {
  const path = envelope.log?.file?.path;
  const offset = envelope.log?.offset;
  const host = envelope.host?.name;
  const parts: string[] = [];
  if (path) parts.push(`${offset !== undefined ? `line at byte ${offset} of ` : ''}${path}`);
  else if (envelope.source?.address) parts.push(`event from ${envelope.source.address}${envelope.input?.type ? ` over ${envelope.input.type}` : ''}`);
  else parts.push(`${envelope.input?.type ?? 'raw'} input`);
  if (host) parts.push(`on host ${host}`);
  return parts.join(' ');
}
