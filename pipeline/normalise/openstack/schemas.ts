import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { RejectionReason } from '../../dlq.js';
import { describeValue } from '../common/source.js';

/**
 * The inputs of kind openstack-audit as JSON Schemas: only the fields the normaliser reads are
 * typed, everything else may be there (OpenStack adds keys freely).
 */

const text = { type: 'string' } as const;
const optionalText = { type: ['string', 'null'] } as const;
const resource = {
  type: 'object',
  properties: {
    typeURI: optionalText,
    id: optionalText,
    name: optionalText,
    user_id: optionalText,
    username: optionalText,
    project_id: optionalText,
    domain_id: optionalText,
    request_id: optionalText,
    global_request_id: optionalText,
    host: { type: ['object', 'null'], properties: { address: optionalText, agent: optionalText } },
  },
} as const;

/** oslo.messaging's notification: `{message_id, publisher_id, event_type, priority, payload, timestamp}` plus `_context_*` */
export const notificationSchema = {
  type: 'object',
  required: ['event_type', 'payload'],
  properties: {
    event_type: { type: 'string', minLength: 1 },
    publisher_id: optionalText,
    priority: optionalText,
    message_id: optionalText,
    timestamp: text,
  },
} as const;

/** a CADF event (pycadf): the keys an audit record is made of */
export const cadfSchema = {
  type: 'object',
  required: ['action', 'outcome'],
  properties: {
    typeURI: text,
    eventType: text,
    id: text,
    eventTime: text,
    action: { type: 'string', minLength: 1 },
    outcome: text,
    initiator: resource,
    target: resource,
    observer: resource,
    reason: { type: 'object', properties: { reasonCode: { type: ['string', 'integer'] }, reasonType: text } },
    requestPath: text,
    tags: { type: 'array', items: text },
  },
} as const;

/** a JSON audit line in the spirit of the Nova audit-logging spec: timestamp, context (user, action), service, rpc, message, exception info */
export const novaAuditLineSchema = {
  type: 'object',
  required: ['timestamp'],
  properties: {
    timestamp: { type: ['string', 'number'] },
    context: { type: 'object' },
    action: text,
    service: text,
    host: text,
    rpc: { type: ['string', 'object'] },
    message: text,
    level: text,
    outcome: text,
  },
  anyOf: [{ required: ['context'] }, { required: ['action'] }, { required: ['rpc'] }],
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, verbose: true });

export const validateNotification = ajv.compile(notificationSchema);
export const validateCadf = ajv.compile(cadfSchema);
export const validateNovaAuditLine = ajv.compile(novaAuditLineSchema);

/** Every schema error of `validate` as a reason, its path under `base` (/payload for a notification's CADF event). */
export function schemaReasons(validate: ValidateFunction, what: string, base: string, origin: string): RejectionReason[] {
  const seen = new Set<string>();
  const reasons: RejectionReason[] = [];
  for (const error of validate.errors ?? []) {
    // an anyOf branch's own errors: the anyOf error says it once
    if (error.schemaPath.startsWith('#/anyOf/')) continue;
    const reason = describeSchemaError(error, what, base, origin);
    if (reason === null || seen.has(`${reason.path}|${reason.rule}`)) continue;
    seen.add(`${reason.path}|${reason.rule}`);
    reasons.push(reason);
  }
  return reasons;
}

function describeSchemaError(error: ErrorObject, what: string, base: string, origin: string): RejectionReason | null {
  const missing = error.keyword === 'required' ? String((error.params as { missingProperty: string }).missingProperty) : null;
  const path = `${base}${error.instancePath}${missing === null ? '' : `/${missing}`}`;
  const name = path === '' ? what : `\`${path.slice(1).replace(/\//g, '.')}\``;
  const reason = (rule: string, words: string): RejectionReason => ({ code: 'RECORD_INVALID', rule, path, message: `${words} (${origin})` });
  switch (error.keyword) {
    case 'required':
      return reason('required', `${name} is required in ${what} but missing`);
    case 'type': {
      const types = (error.params as { type: string | string[] }).type;
      const expected = (Array.isArray(types) ? types : String(types).split(',')).filter((t) => t !== 'null').map((t) => (t === 'object' ? 'an object' : t === 'array' ? 'an array' : t === 'integer' ? 'a whole number' : `a ${t}`)).join(' or ');
      return reason('type', `${name} must be ${expected}, got ${describeValue(error.data)}`);
    }
    case 'minLength':
      return reason('non-empty', `${name} must be a non-empty string, got ${describeValue(error.data)}`);
    case 'anyOf':
      return error.instancePath === '' ? reason('required', `${what} needs a context, an action or an rpc`) : null;
    default:
      return reason(error.keyword, `${name} ${error.message ?? 'is not valid'}, got ${describeValue(error.data)}`);
  }
}
