import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import type { RejectionReason } from '../../dlq.js';
import { projectRoot } from '../../paths.js';

/** One Ajv for the cloud record schemas (schemas/json/caso-*.schema.json), each compiled once. */
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
ajvFormats.default(ajv, ['iso-date-time']);

export interface RecordSchema {
  validate: ValidateFunction;
  /** the record in words, for reasons: "a cloud record" */
  noun: string;
}

/** Compile schemas/json/<file>, or one of its definitions (`pointer` such as `/definitions/star`). */
export function recordSchema(file: string, noun: string, pointer?: string): RecordSchema {
  const schema = JSON.parse(readFileSync(path.join(projectRoot, 'schemas/json', file), 'utf8')) as { $id: string };
  if (ajv.getSchema(schema.$id) === undefined) ajv.addSchema(schema);
  const validate = ajv.getSchema(pointer === undefined ? schema.$id : `${schema.$id}#${pointer}`);
  if (validate === undefined) throw new Error(`internal: schemas/json/${file} has no ${pointer ?? 'root'} schema`);
  return { validate, noun };
}

/** Every way `fields` breaks the schema, in words naming the field, the rule and the value given. */
export function schemaReasons(schema: RecordSchema, fields: Record<string, unknown>, origin: string, written?: ReadonlyMap<string, string>): RejectionReason[] {
  if (schema.validate(fields)) return [];
  return (schema.validate.errors ?? []).map((error) => describeSchemaError(error, fields, schema.noun, origin, written));
}

const largestExactInteger = Number.MAX_SAFE_INTEGER;
const largestEpochSecond = 253402300799;

function describeSchemaError(error: ErrorObject, fields: Record<string, unknown>, noun: string, origin: string, written: ReadonlyMap<string, string> | undefined): RejectionReason {
  const params = error.params as Record<string, unknown>;
  const field =
    error.keyword === 'required' ? String(params.missingProperty) : error.keyword === 'additionalProperties' ? String(params.additionalProperty) : error.instancePath.slice(1);
  const name = `\`${field}\``;
  const topField = field.split('/')[0] as string;
  const given = written?.get(topField) !== undefined && topField === field ? JSON.stringify(written.get(topField)) : describeValue(error.data);
  const reason = (rule: string, text: string): RejectionReason => ({ code: 'RECORD_INVALID', rule, path: field === '' ? '' : `/${field}`, message: `${text} (${origin})` });
  switch (error.keyword) {
    case 'required':
      if (written?.has(field)) return reason('required', `${name} is required in ${noun} but is given as ${JSON.stringify(written.get(field))}, which APEL reads as no value`);
      return reason('required', `${name} is required in ${noun} but missing${otherCaseHint(fields, field)}`);
    case 'additionalProperties':
      return reason('unknown-field', `${name} is not a field of ${noun}${knownCaseHint(error, field)}`);
    case 'type': {
      if (field === '') return reason('type', `${noun} must be an object of fields, got ${describeValue(error.data)}`);
      const types = String(params.type).split(',').filter((t) => t !== 'null');
      if ((error.parentSchema as { maximum?: unknown } | undefined)?.maximum === largestEpochSecond) {
        return reason('type', `${name} must be epoch seconds (an integer)${written === undefined ? '' : ', or a date-time with Z such as 2023-05-25T21:59:06Z'}, got ${given}`);
      }
      const expected = types.map((t) => (t === 'integer' ? 'an integer' : `a ${t}`)).join(' or ');
      return reason('type', `${name} must be ${expected}, got ${given}${numberHint(error.data, types, written !== undefined)}`);
    }
    case 'minimum':
      return reason('minimum', `${name} must be at least ${String(params.limit)}, got ${given}`);
    case 'maximum':
      if (params.limit === largestEpochSecond) return reason('maximum', `${name} must be epoch seconds before the year 10000 (at most ${largestEpochSecond}), got ${given}; is it in milliseconds?`);
      if (params.limit === largestExactInteger) return reason('maximum', `${name} must be at most ${largestExactInteger} (2^53 - 1, the largest integer Tally carries exactly), got ${given}`);
      return reason('maximum', `${name} must be at most ${String(params.limit)}, got ${given}`);
    case 'pattern':
      return reason('non-empty', `${name} must be a non-empty string, got ${given}`);
    case 'enum':
      return reason('enum', `${name} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${given}`);
    case 'format':
      return reason('date-time', `${name} must be an ISO 8601 date-time such as 2023-05-25T21:59:06Z (no offset means UTC), got ${given}`);
    default:
      return reason(error.keyword, `${name} ${error.message ?? 'is not valid'}, got ${given}`);
  }
}

/** `siteName` given where `SiteName` is required: say so. */
function otherCaseHint(fields: Record<string, unknown>, field: string): string {
  const lower = field.toLowerCase();
  for (const key in fields) if (Object.hasOwn(fields, key) && key !== field && key.toLowerCase() === lower) return `; found \`${key}\`, but field names are case-sensitive`;
  return '';
}

/** `vmuuid` given: name the field it was meant to be. */
function knownCaseHint(error: ErrorObject, field: string): string {
  const properties = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const lower = field.toLowerCase();
  const meant = Object.keys(properties).find((key) => key.toLowerCase() === lower);
  return meant === undefined ? `; its fields are ${Object.keys(properties).join(', ')}` : `; did you mean \`${meant}\`? field names are case-sensitive`;
}

function numberHint(data: unknown, types: string[], fromText: boolean): string {
  if (typeof data !== 'string' || !types.some((t) => t === 'integer' || t === 'number')) return '';
  const number = Number(data.trim());
  if (data.trim() === '' || !Number.isFinite(number)) return '';
  if (types.includes('integer') && !Number.isInteger(number)) return '; it must be a whole number';
  if (types.includes('integer') && fromText) return `; write it as plain decimal digits, as APEL reads integers: ${number}`;
  return fromText ? '' : `; write it as a JSON number, without quotes: ${number}`;
}

/** A value in a reason, short whatever it is. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}… (${value.length} characters)` : JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
