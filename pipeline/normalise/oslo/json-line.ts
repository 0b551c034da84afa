import { Ajv, type ErrorObject } from 'ajv';
import type { RawEnvelope } from '../../envelope.js';
import { civilToMillis, parseIsoLike, type Zone } from '../common/date-time.js';
import { describeValue } from '../common/source.js';
import { levelNumberOf, type LineReading } from './log-event.js';
import { errorSummary, tracebackException, wsgiAccess } from './message.js';
import { processNameOfPath, serviceNameOf } from './service.js';

/**
 * A line of oslo.log's JSONFormatter (`use_json = True`), and FluentFormatter's dict written as
 * JSON: message, name, levelname (level), created (epoch seconds; asctime or time has no
 * milliseconds), process, hostname, funcname/filename/lineno, traceback (a list of lines up to
 * oslo.log 7.x, one newline-joined string from 8.0.0), error_summary, context{…}, extra{…}.
 */

const nullable = (type: string) => ({ type: [type, 'null'] });
const jsonLineSchema = {
  type: 'object',
  required: ['message', 'name'],
  properties: {
    message: { type: 'string' },
    name: { type: 'string', minLength: 1 },
    levelname: { type: 'string', minLength: 1 },
    level: { type: 'string', minLength: 1 },
    levelno: { type: 'integer' },
    created: { type: 'number' },
    asctime: { type: 'string' },
    time: { type: 'string' },
    process: nullable('integer'),
    hostname: nullable('string'),
    funcname: nullable('string'),
    filename: nullable('string'),
    pathname: nullable('string'),
    lineno: nullable('integer'),
    traceback: { anyOf: [{ type: 'null' }, { type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    error_summary: nullable('string'),
    context: { type: 'object' },
    extra: { type: 'object' },
  },
  anyOf: [{ required: ['levelname'] }, { required: ['level'] }],
} as const;

interface JsonLine {
  message: string;
  name: string;
  levelname?: string;
  level?: string;
  levelno?: number;
  created?: number;
  asctime?: string;
  time?: string;
  process?: number | null;
  hostname?: string | null;
  funcname?: string | null;
  filename?: string | null;
  pathname?: string | null;
  lineno?: number | null;
  traceback?: string | string[] | null;
  error_summary?: string | null;
  context?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, verbose: true });
const validateLine = ajv.compile<JsonLine>(jsonLineSchema);

/** latest instant accepted from `created`: year 9999 */
const maxMillis = 253_402_300_799_999;

export function readJsonRecord(parsed: unknown, envelope: RawEnvelope, zone: Zone): LineReading {
  if (!validateLine(parsed)) {
    const all = validateLine.errors ?? [];
    const levelMissing = all.some((e) => e.keyword === 'anyOf' && e.instancePath === '');
    // one reason per field; the anyOf branches of a missing level or a bad traceback say one thing
    const byField = new Map<string, ErrorObject>();
    for (const error of all) {
      if (error.instancePath === '' && (error.keyword === 'anyOf' || (levelMissing && error.keyword === 'required' && /^level/.test(String((error.params as { missingProperty?: string }).missingProperty))))) continue;
      const field = errorField(error);
      if (!byField.has(field)) byField.set(field, error);
    }
    const described = [...byField.values()].map(describeError);
    if (levelMissing) described.push("`levelname` (or FluentFormatter's `level`) is required but missing");
    const first = [...byField.keys()][0] ?? '/levelname';
    return { ok: false, reason: { code: 'RECORD_INVALID', rule: 'oslo-json', path: first, text: `the oslo.log JSON line breaks the JSONFormatter shape: ${described.join('; ')}` } };
  }
  const line = parsed;
  const timestamp = jsonTimestamp(line, zone);
  if (timestamp === undefined) {
    const given: unknown = line.created ?? line.asctime ?? line.time;
    return { ok: false, reason: { code: 'RECORD_INVALID', rule: 'date-time', path: line.created !== undefined ? '/created' : '/asctime', text: `the oslo.log JSON line needs \`created\` (epoch seconds) or \`asctime\`/\`time\` as a date-time, got ${given === undefined ? 'none of them' : describeValue(given)}` } };
  }
  const context = line.context ?? {};
  const extra = line.extra ?? {};
  const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' && value !== '-' ? value : null);
  const level = (line.levelname ?? line.level ?? 'INFO').toUpperCase() === 'WARN' ? 'WARNING' : (line.levelname ?? line.level ?? 'INFO');
  const stack = typeof line.traceback === 'string' ? line.traceback.split('\n') : Array.isArray(line.traceback) ? line.traceback : [];
  while (stack.length > 0 && (stack[stack.length - 1] as string).trim() === '') stack.pop();
  const summary = text(line.error_summary);
  // error_summary is `ExcType: text` on its own; errorSummary reads it where oslo appends it, after a `: `
  const error = tracebackException(stack) ?? (summary ? (errorSummary(`: ${summary}`) ?? { type: summary, message: null }) : null);
  const path = typeof envelope.log?.file?.path === 'string' ? envelope.log.file.path : null;
  const processName = processNameOfPath(path);
  const instance = text(extra.instance_uuid) ?? text((extra.instance as { uuid?: unknown } | undefined)?.uuid) ?? text(context.instance_uuid) ?? text(context.resource_uuid);
  return {
    ok: true,
    facts: {
      timestamp,
      level,
      levelNumber: typeof line.levelno === 'number' ? line.levelno : levelNumberOf(level),
      logger: line.name,
      format: 'json',
      origin: { function: text(line.funcname), file: text(line.pathname) ?? text(line.filename), line: typeof line.lineno === 'number' && line.lineno >= -2147483648 && line.lineno <= 2147483647 ? line.lineno : null },
      service: { name: serviceNameOf({ configured: envelope.fields?.service, processName, logger: line.name, path }) },
      process: { pid: typeof line.process === 'number' && line.process >= 0 && line.process <= 2147483647 ? line.process : null, name: processName },
      host: text(line.hostname),
      transaction_id: text(context.request_id),
      trace_id: text(context.global_request_id),
      user: { id: text(context.user_id) ?? text(context.user), name: text(context.user_name), domain: text(context.user_domain_id) ?? text(context.user_domain) },
      project: { id: text(context.project_id) ?? text(context.project) ?? text(context.tenant), name: text(context.project_name), domain: text(context.project_domain_id) ?? text(context.project_domain) },
      domain_id: text(context.domain_id) ?? text(context.domain),
      system_scope: text(context.system_scope),
      user_identity: text(context.user_identity),
      cloud_instance_id: instance,
      message: line.message,
      error_type: error?.type ?? null,
      error_message: error?.message ?? null,
      error_stack_trace: stack.length === 0 ? null : stack.join('\n'),
      access: wsgiAccess(line.message),
    },
  };
}

function jsonTimestamp(line: JsonLine, zone: Zone): number | undefined {
  if (line.created !== undefined) {
    const millis = Math.floor(line.created * 1000);
    return Number.isSafeInteger(millis) && millis >= 0 && millis <= maxMillis ? millis : undefined;
  }
  const civil = parseIsoLike((line.asctime ?? line.time ?? '').trim());
  return civil === undefined ? undefined : civilToMillis(civil, zone);
}

function errorField(error: ErrorObject): string {
  if (error.keyword === 'required') return `/${String((error.params as { missingProperty: string }).missingProperty)}`;
  // a bad traceback item is the traceback's problem
  return error.instancePath.replace(/^(\/traceback)\/\d+$/, '$1') || '';
}

function describeError(error: ErrorObject): string {
  const field = errorField(error).slice(1);
  if (error.keyword === 'required') return `\`${field}\` is required but missing`;
  if (field === '' && error.keyword === 'type') return `a JSON-formatter line must be a JSON object, got ${describeValue(error.data)}`;
  if (field === 'traceback') return `\`traceback\` must be a string, a list of strings or null, got ${describeValue(error.data)}`;
  return `\`${field}\` ${error.message ?? 'is not valid'}, got ${describeValue(error.data)}`;
}
