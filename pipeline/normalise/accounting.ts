import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import ajvFormats from 'ajv-formats';
import type { RejectionReason } from '../dlq.js';
import { describeOrigin, type RawEnvelope } from '../envelope.js';
import { messageOf } from '../errors.js';
import { projectRoot } from '../paths.js';
import { lineRecordId } from './common/record-id.js';
import type { Normalised, Normaliser } from './types.js';

/**
 * kind `accounting`: one NEANIAS JSON accounting line (schemas/json/accounting.schema.json) becomes
 * one accounting.usage record (schemas/avro/accounting.usage.avsc).
 */

export const accountingTopic = 'accounting.usage';

/** A line that passed the schema, defaults applied. */
interface AccountingEntry {
  timestamp: string;
  serviceid: string;
  level: 'accounting';
  userid: string;
  resource: string;
  action: string;
  starttime?: string | null;
  endtime?: string | null;
  userdelegate?: string | null;
  comment?: string | null;
  value?: number | null;
  measure?: string | null;
  type?: '+' | '-' | '0' | null;
}

const schemaFile = path.join(projectRoot, 'schemas/json/accounting.schema.json');
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true, verbose: true });
ajvFormats.default(ajv, ['iso-date-time']);
const validateEntry = ajv.compile<AccountingEntry>(JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>);

const unitOfMeasure: ReadonlyMap<string, string> = new Map([
  ['time', 'ms'],
  ['information', 'MB'],
  ['throughput', 'MB/s'],
  ['unit', '1'],
]);

export const accountingNormaliser: Normaliser = {
  kind: 'accounting',
  topics: [accountingTopic],
  normalise: normaliseAccounting,
};

function normaliseAccounting(envelope: RawEnvelope): Normalised {
  const message = envelope.message;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch (error) {
    return rejected(notJson(message, error, envelope));
  }
  const object = isObject(parsed) ? parsed : undefined;
  if (object) fillFromAliases(object, envelope);
  const valid = validateEntry(parsed);
  const reasons: RejectionReason[] = valid ? [] : (validateEntry.errors ?? []).map((error) => describeSchemaError(error, parsed, describeOrigin(envelope)));
  // the rule across fields, checked whenever both times are themselves valid, so a line hears every reason at once
  const timesValid = object !== undefined && !reasons.some((r) => r.path === '/starttime' || r.path === '/endtime');
  const start = timesValid && typeof object.starttime === 'string' ? parseDateTime(object.starttime) : undefined;
  const end = timesValid && typeof object.endtime === 'string' ? parseDateTime(object.endtime) : undefined;
  if (start && end && compareInstants(end, start) < 0) {
    reasons.push({
      code: 'RECORD_INVALID',
      rule: 'endtime-not-before-starttime',
      path: '/endtime',
      message: `\`endtime\` must not be before \`starttime\`, got endtime ${JSON.stringify(object?.endtime)} and starttime ${JSON.stringify(object?.starttime)} (${describeOrigin(envelope)})`,
    });
  }
  if (!valid || reasons.length > 0) return { records: [], rejections: [{ reasons }] };
  // validateEntry said so above: `valid` is a type guard TypeScript does not carry through a variable
  const entry = parsed as AccountingEntry;
  const timestamp = parseDateTime(entry.timestamp);
  const value = entry.value ?? 1;
  const measure = entry.measure ?? 'unit';
  const type = entry.type ?? '+';
  const source = sourceOf(envelope);
  const id = lineRecordId(envelope, message);
  return {
    records: [
      {
        topic: accountingTopic,
        id,
        value: {
          id,
          timestamp: timestamp.millis,
          serviceid: entry.serviceid,
          level: 'accounting',
          userid: entry.userid,
          userdelegate: entry.userdelegate == null || entry.userdelegate.trim() === '' ? null : entry.userdelegate,
          resource: entry.resource,
          action: entry.action,
          comment: entry.comment ?? null,
          starttime: start ? start.millis : null,
          endtime: end ? end.millis : null,
          duration_ms: start && end ? end.millis - start.millis : null,
          value,
          // 0 - value, not -value: a zero stays +0
          signed_value: type === '-' ? 0 - value : type === '0' ? 0 : value,
          measure,
          unit: unitOfMeasure.get(measure.toLowerCase()) ?? null,
          type,
          source,
        },
      },
    ],
    rejections: [],
  };
}

function rejected(...reasons: RejectionReason[]): Normalised {
  return { records: [], rejections: [{ reasons }] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What the schema cannot say: the ship filter admits a `Level` key as well as `level`, and the
 * model lets the probe supply `serviceid` (Filebeat `fields.serviceid`) when the line has none.
 */
function fillFromAliases(entry: Record<string, unknown>, envelope: RawEnvelope): void {
  if (entry.level === undefined && Object.hasOwn(entry, 'Level')) entry.level = entry.Level;
  if (entry.serviceid === undefined) {
    const probeServiceId = isObject(envelope.fields) ? envelope.fields.serviceid : undefined;
    if (typeof probeServiceId === 'string') entry.serviceid = probeServiceId;
  }
}

// ---------------------------------------------------------------------------------------------
// record id and source coordinates

type UsageSource = { input: string; host: string | null; path: string | null; offset: number | null; client: string | null; tags: string[] };

function sourceOf(envelope: RawEnvelope): UsageSource {
  const offset = envelope.log?.offset;
  const tags = envelope.tags;
  return {
    input: stringOrNull(envelope.input?.type) ?? 'raw',
    host: stringOrNull(envelope.host?.name),
    path: stringOrNull(envelope.log?.file?.path),
    offset: Number.isSafeInteger(offset) ? (offset as number) : null,
    client: stringOrNull(envelope.source?.address),
    tags: Array.isArray(tags) ? (tags.every((t) => typeof t === 'string') ? tags : tags.filter((t): t is string => typeof t === 'string')) : [],
  };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

// ---------------------------------------------------------------------------------------------
// date-times

interface Instant {
  /** milliseconds since the epoch, the fraction beyond milliseconds dropped */
  millis: number;
  /** the dropped fraction, in milliseconds (0 ≤ subMillis < 1), to order two instants exactly */
  subMillis: number;
}

/** the shapes ajv-formats' `iso-date-time` accepts; the schema has already checked the calendar and clock */
const isoDateTime = /^(\d{4})-(\d\d)-(\d\d)[Tt\s](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:[Zz]|([+-])(\d\d)(?::?(\d\d))?)?$/;

/** Only called on strings the schema accepted as `iso-date-time`. No offset: UTC. */
function parseDateTime(text: string): Instant {
  const m = isoDateTime.exec(text);
  if (!m) throw new Error(`internal: ${JSON.stringify(text)} passed iso-date-time but does not parse`);
  const [, year, month, day, hour, minute, second, fraction = '', sign, offsetHours = '0', offsetMinutes = '0'] = m;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  const clock = ((Number(hour) * 60 + Number(minute) - offset) * 60 + Number(second)) * 1000;
  const millis = date.getTime() + clock + (fraction === '' ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0')));
  return { millis, subMillis: fraction.length > 3 ? Number(`0.${fraction.slice(3)}`) : 0 };
}

function compareInstants(a: Instant, b: Instant): number {
  return a.millis - b.millis || a.subMillis - b.subMillis;
}

// ---------------------------------------------------------------------------------------------
// reasons in words

const example = '2020-09-01T13:00:00Z or 2020-09-01T15:00:00.1234567+02:00';

function describeSchemaError(error: ErrorObject, entry: unknown, origin: string): RejectionReason {
  const field = error.keyword === 'required' ? String((error.params as { missingProperty: string }).missingProperty) : error.instancePath.slice(1);
  const name = `\`${field}\``;
  const data: unknown = error.data;
  const reason = (rule: string, text: string): RejectionReason => ({ code: 'RECORD_INVALID', rule, path: field === '' ? '' : `/${field}`, message: `${text} (${origin})` });
  switch (error.keyword) {
    case 'required':
      return reason('required', `${name} is required but missing${sameNameHint(entry, field)}`);
    case 'type': {
      if (field === '') return reason('type', `an accounting entry must be a JSON object, got ${describeValue(data)}`);
      if (typeof data === 'number' && !Number.isFinite(data)) return reason('finite', `${name} must be a finite number, got a number too large for a double (such as 1e309)`);
      const types = (error.params as { type: string | string[] }).type;
      const expected = (Array.isArray(types) ? types : types.split(',')).filter((t) => t !== 'null').map((t) => (t === 'number' ? 'a number' : t === 'string' ? 'a string' : `a ${t}`)).join(' or ');
      return reason('type', `${name} must be ${expected}, got ${describeValue(data)}${numberHint(data, expected)}`);
    }
    case 'format':
      return reason('date-time', `${name} must be an ISO 8601 date-time such as ${example}, got ${describeValue(data)}`);
    case 'pattern':
      return reason('non-empty', `${name} must be a non-empty string, got ${describeValue(data)}`);
    case 'const':
      return reason('const', `${name} must be "accounting", got ${describeValue(data)}${typeof data === 'string' && data.toLowerCase() === 'accounting' ? '; only lowercase "accounting" is accepted, as the ship filter matches it' : ''}`);
    case 'enum':
      return reason('enum', `${name} must be one of "+", "-", "0", got ${describeValue(data)}${typeof data === 'number' ? `; write it as the string "${data}"` : ''}`);
    default:
      return reason(error.keyword, `${name} ${error.message ?? 'is not valid'}, got ${describeValue(data)}`);
  }
}

/** `UserId` given where `userid` is required: say so. */
function sameNameHint(entry: unknown, field: string): string {
  if (!isObject(entry)) return '';
  for (const key in entry) if (Object.hasOwn(entry, key) && key !== field && key.toLowerCase() === field) return `; found \`${key}\`, but field names are lowercase`;
  return '';
}

function numberHint(data: unknown, expected: string): string {
  if (expected !== 'a number' || typeof data !== 'string') return '';
  const number = Number(data.trim().replace(/^([+-]?\d+),(\d+)$/, '$1.$2'));
  return data.trim() !== '' && Number.isFinite(number) ? `; write it as a JSON number, without quotes: ${number}` : '';
}

/** A value in a reason, short whatever it is: never a whole (possibly huge or deeply nested) structure. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}… (${value.length} characters)` : JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function notJson(text: string, error: unknown, envelope: RawEnvelope): RejectionReason {
  const origin = describeOrigin(envelope);
  const reason = (message: string): RejectionReason => ({ code: 'RECORD_UNPARSABLE', rule: 'json', message: `${message} (${origin})` });
  if (text.trim() === '') return reason('the line is empty, expected a JSON accounting entry');
  const detail = messageOf(error);
  const position = /at position (\d+)/.exec(detail);
  const at = position ? Number(position[1]) : syntaxErrorAt(text);
  // V8's own words, without its echo of the input and its position (ours follows)
  const what = detail.replace(/, (?:\.\.\.)?".* is not valid JSON$/s, '').replace(/(?: in JSON)? at position \d+.*$/s, '');
  const where = lineAndColumn(text, at);
  const before = text.slice(Math.max(0, at - 24), at);
  const context = before === '' ? '' : `, after \`${at > 24 ? '…' : ''}${before}\``;
  if (at >= text.length) return reason(`the line is not valid JSON: it ends at ${where} before the JSON is complete (truncated?)${context}`);
  return reason(`the line is not valid JSON: ${what.charAt(0).toLowerCase()}${what.slice(1)} at ${where}${context}`);
}

function lineAndColumn(text: string, at: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return line === 1 ? `column ${at - lineStart + 1}` : `line ${line} column ${at - lineStart + 1}`;
}

/**
 * Where JSON.parse gave up, for V8 versions whose message does not say (Node 20: "Unexpected
 * token"): the offset of the first character that cannot continue a JSON text, or the text's
 * length when it ends early, as V8 counts it. Only runs on text JSON.parse rejected; iterative, so
 * depth is no limit. Each reader leaves `i` past what it read, or at the offending character.
 */
export function syntaxErrorAt(text: string): number {
  const open: string[] = [];
  let i = 0;
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  const isHex = (c: string | undefined) => c !== undefined && /[0-9a-fA-F]/.test(c);
  const skipSpace = () => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i += 1;
  };
  const digits = (): boolean => {
    if (!isDigit(text[i])) return false;
    while (isDigit(text[i])) i += 1;
    return true;
  };
  const string = (): boolean => {
    if (text[i] !== '"') return false;
    for (i += 1; i < text.length; i += 1) {
      const c = text[i] as string;
      if (c === '"') {
        i += 1;
        return true;
      }
      if (c < ' ') return false;
      if (c === '\\') {
        i += 1;
        if (text[i] === 'u') {
          for (let k = 0; k < 4; k += 1) {
            i += 1;
            if (!isHex(text[i])) return false;
          }
        } else if (i >= text.length || !'"\\/bfnrt'.includes(text[i] as string)) return false;
      }
    }
    return false;
  };
  const number = (): boolean => {
    if (text[i] === '-') i += 1;
    if (text[i] === '0') i += 1;
    else if (!digits()) return false;
    if (text[i] === '.') {
      i += 1;
      if (!digits()) return false;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i += 1;
      if (text[i] === '+' || text[i] === '-') i += 1;
      if (!digits()) return false;
    }
    return true;
  };
  // as far as the text follows true, false or null: V8 stops at the first character that differs
  const literal = (): boolean => {
    const word = text[i] === 't' ? 'true' : text[i] === 'f' ? 'false' : 'null';
    for (const expected of word) {
      if (text[i] !== expected) return false;
      i += 1;
    }
    return true;
  };
  const value = (): boolean => {
    const c = text[i];
    if (c === '"') return string();
    if (c === '-' || isDigit(c)) return number();
    if (c === 't' || c === 'f' || c === 'n') return literal();
    return false;
  };
  const key = (): boolean => {
    skipSpace();
    if (!string()) return false;
    skipSpace();
    if (text[i] !== ':') return false;
    i += 1;
    return true;
  };
  for (;;) {
    skipSpace();
    const c = text[i];
    if (c === '{' || c === '[') {
      i += 1;
      skipSpace();
      if (text[i] === (c === '{' ? '}' : ']')) i += 1;
      else {
        open.push(c);
        if (c === '{' && !key()) return i;
        continue;
      }
    } else if (!value()) return i;
    for (;;) {
      skipSpace();
      const container = open[open.length - 1];
      if (container === undefined) return i;
      if (text[i] === ',') {
        i += 1;
        if (container === '{' && !key()) return i;
        break;
      }
      if (text[i] !== (container === '{' ? '}' : ']')) return i;
      i += 1;
      open.pop();
    }
  }
}
