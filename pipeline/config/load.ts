import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { TallyError } from '../errors.js';
import { projectRoot } from '../paths.js';
import { localElasticsearchUrl } from '../services/elasticsearch-topology.js';
import { localBootstrap } from '../services/kafka-topology.js';
import { localRegistryUrl } from '../services/registry-topology.js';
import { crossKeyProblems } from './cross-rules.js';
import { describeSchemaError } from './schema-errors.js';
import type { TallyConfig } from './types.js';

const schemaPath = path.join(projectRoot, 'schemas/json/config.schema.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictTypes: false, coerceTypes: false });
const validate = ajv.compile(schema);

export interface ConfigSources {
  /** path of the YAML file; absent means embedded defaults only */
  file?: string;
  /** environment to read overrides from */
  env?: NodeJS.ProcessEnv;
  /** `key.path=value` overrides from --set flags, applied last */
  sets?: string[];
}

/** Parse, override, validate: the one way a command gets its configuration. */
export function loadConfig(sources: ConfigSources = {}): TallyConfig {
  const raw: Record<string, unknown> = sources.file ? readYamlFile(sources.file) : {};
  applyEnvironment(raw, sources.env ?? process.env);
  for (const assignment of sources.sets ?? []) applyAssignment(raw, assignment, '--set');
  return validateConfig(raw, sources.file ?? 'embedded defaults');
}

export function validateConfig(raw: Record<string, unknown>, origin: string): TallyConfig {
  const candidate = structuredClone(raw);
  const kafkaGiven = (raw.kafka as Record<string, unknown> | undefined)?.brokers !== undefined;
  const esGiven = (raw.elasticsearch as Record<string, unknown> | undefined)?.url !== undefined;
  const registryGiven = (raw.registry as Record<string, unknown> | undefined)?.url !== undefined;
  if (!validate(candidate)) {
    const reasons = (validate.errors ?? []).map((e) => describeSchemaError(e));
    throw new TallyError('CONFIG_INVALID', `configuration from ${origin} is invalid:\n  - ${reasons.join('\n  - ')}`, {
      details: { origin, reasons },
    });
  }
  const config = candidate as unknown as TallyConfig;
  const problems = crossKeyProblems(config);
  if (problems.length > 0) {
    throw new TallyError('CONFIG_INVALID', `configuration from ${origin} is invalid:\n  - ${problems.join('\n  - ')}`, { details: { origin, reasons: problems } });
  }
  // endpoints not given follow the local services' ports (every node of a local Kafka cluster)
  if (!kafkaGiven) config.kafka.brokers = localBootstrap(config.services.kafka);
  if (!esGiven) config.elasticsearch.url = localElasticsearchUrl(config.services.elasticsearch);
  if (!registryGiven) config.registry.url = localRegistryUrl(config.services.registry);
  return config;
}

function readYamlFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TallyError('CONFIG_UNREADABLE', `cannot read configuration file ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const parsed: unknown = parseYaml(text, { prettyErrors: true });
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new TallyError('CONFIG_INVALID', `configuration file ${file} must hold a mapping at the top level, got ${Array.isArray(parsed) ? 'a list' : typeof parsed}`);
    }
    return parsed as Record<string, unknown>;
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const where = error.linePos?.[0] ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '';
      throw new TallyError('CONFIG_UNREADABLE', `configuration file ${file} is not valid YAML${where}: ${error.message.split('\n')[0]}`, { cause: error });
    }
    throw error;
  }
}

/** Well-known variables first, then TALLY_<SECTION>__<KEY>[__<KEY>] for any key. */
function applyEnvironment(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  if (env.KAFKA_BROKERS) setPath(raw, ['kafka', 'brokers'], env.KAFKA_BROKERS.split(',').map((b) => b.trim()).filter(Boolean));
  if (env.ELASTICSEARCH_URL) setPath(raw, ['elasticsearch', 'url'], env.ELASTICSEARCH_URL);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('TALLY_') || !name.includes('__') || value === undefined) continue;
    const keys = resolveKeys(name.slice('TALLY_'.length).split('__').map(toCamelCase));
    setPath(raw, keys, scalarFor(keys, value));
  }
}

export function applyAssignment(raw: Record<string, unknown>, assignment: string, origin: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new TallyError('USAGE', `${origin} ${assignment}: expected key.path=value`);
  const keys = assignment.slice(0, eq).split('.');
  setPath(raw, keys, scalarFor(keys, assignment.slice(eq + 1)));
}

/** A key the schema types as a string keeps its text as given: a password of digits stays a string. */
function scalarFor(keys: string[], value: string): unknown {
  let node: Record<string, unknown> | undefined = schema;
  for (const key of keys) node = (node?.properties as Record<string, Record<string, unknown>> | undefined)?.[key];
  return node?.type === 'string' ? value : parseScalar(value);
}

function toCamelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Map case-folded env segments onto the schema's real key spelling (clientId, not clientid). */
function resolveKeys(keys: string[]): string[] {
  let node: Record<string, unknown> | undefined = schema;
  return keys.map((key) => {
    const properties = node?.properties as Record<string, Record<string, unknown>> | undefined;
    const match = properties ? Object.keys(properties).find((k) => k.toLowerCase() === key.toLowerCase()) : undefined;
    node = match ? properties?.[match] : undefined;
    return match ?? key;
  });
}

function parseScalar(value: string): unknown {
  const trimmed = value.trim();
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (/^-?[0-9]+$/.test(trimmed) && Number.isSafeInteger(Number(trimmed))) return Number(trimmed);
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  keys.forEach((key, i) => {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      throw new TallyError('CONFIG_INVALID', `configuration key "${keys.join('.')}" is not allowed`);
    }
    if (i === keys.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
}

