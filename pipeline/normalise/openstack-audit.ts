import type { RejectionReason } from '../dlq.js';
import { describeOrigin, type RawEnvelope } from '../envelope.js';
import { auditRecord, auditTopic } from './common/audit-event.js';
import { envelopeZone, type Zone } from './common/date-time.js';
import { jsonProblem } from './common/json-problem.js';
import { businessRecordId, lineRecordId } from './common/record-id.js';
import { describeValue } from './common/source.js';
import { isCadfEvent, readCadf } from './openstack/cadf.js';
import { isJsonObject, type JsonObject } from './openstack/json-fields.js';
import { isNovaAuditLine, readNovaAuditLine } from './openstack/nova-audit-line.js';
import { readNotificationEvent } from './openstack/nova-notification.js';
import { readNotification } from './openstack/notification.js';
import type { OpenStackReading, WrapperContext } from './openstack/reading.js';
import { schemaReasons, validateCadf, validateNotification, validateNovaAuditLine } from './openstack/schemas.js';
import { parseContext } from './oslo/context.js';
import { parseOsloHeader } from './oslo/header.js';
import type { Normalised, Normaliser } from './types.js';

/**
 * kind `openstack-audit`: one OpenStack audit input becomes one audit.events record:
 *   - an oslo.messaging notification `{message_id, publisher_id, event_type, priority, payload,
 *     timestamp, _context_*}`, or its messaging-v2 wrapping `{"oslo.version": "2.0",
 *     "oslo.message": "<the notification as a JSON string>"}`, whose payload is a CADF event
 *     (keystonemiddleware audit.http.*, Keystone identity.*), a Nova instance payload (legacy or
 *     versioned) or any other service's;
 *   - a CADF event on its own;
 *   - a Nova audit-logging JSON line;
 *   - any of these as the message of an oslo.log line (the `log` notification driver writes them
 *     so, logger oslo.messaging.notification.<event_type>), the line's request context filling in.
 */

export const openstackAuditNormaliser: Normaliser = {
  kind: 'openstack-audit',
  topics: [auditTopic],
  normalise: normaliseOpenStackAudit,
};

type Reasons = { reasons: RejectionReason[] };

function normaliseOpenStackAudit(envelope: RawEnvelope): Normalised {
  const origin = describeOrigin(envelope);
  const rejected = (...reasons: RejectionReason[]): Normalised => ({ records: [], rejections: [{ reasons }] });
  const reason = (code: 'RECORD_UNPARSABLE' | 'RECORD_INVALID', rule: string, text: string, path?: string): RejectionReason => ({ code, rule, ...(path !== undefined ? { path } : {}), message: `${text} (${origin})` });

  const message = envelope.message;
  if (message.trim() === '') return rejected(reason('RECORD_UNPARSABLE', 'json', 'the line is empty, expected a CADF event, an oslo.messaging notification or a Nova audit line (JSON)'));
  const zone = envelopeZone(envelope);
  if (zone === null) return rejected(reason('RECORD_INVALID', 'timezone', `the input's fields.timezone ${describeValue(envelope.fields?.timezone)} is not a time zone`, '/fields/timezone'));

  const unwrapped = unwrapLogLine(message);
  if ('reasons' in unwrapped) return rejected(...unwrapped.reasons.map((r) => ({ ...r, message: `${r.message} (${origin})` })));
  const parsed = parseJson(unwrapped.json);
  if (!parsed.ok) return rejected(reason('RECORD_UNPARSABLE', 'json', parsed.problem));
  if (!isJsonObject(parsed.value)) return rejected(reason('RECORD_INVALID', 'type', `an OpenStack audit input must be a JSON object, got ${describeValue(parsed.value)}`, ''));

  let object: JsonObject = parsed.value;
  if (typeof object['oslo.message'] === 'string') {
    const inner = parseJson(object['oslo.message']);
    if (!inner.ok) return rejected(reason('RECORD_UNPARSABLE', 'json', `\`oslo.message\` must hold the notification as a JSON string: ${inner.problem}`, '/oslo.message'));
    if (!isJsonObject(inner.value)) return rejected(reason('RECORD_INVALID', 'type', `\`oslo.message\` must hold a JSON object, got ${describeValue(inner.value)}`, '/oslo.message'));
    object = inner.value;
  }

  const read = readAudit(object, unwrapped.wrapper, zone, origin);
  if ('reasons' in read) return { records: [], rejections: [{ reasons: read.reasons }] };
  if (read.timestamp === undefined) {
    return rejected(reason('RECORD_INVALID', 'date-time', 'the event states no readable time: a notification needs its `timestamp` (2013-08-29 19:03:45.960280), a CADF event its `eventTime` (2014-02-27T19:29:30.855665+0000), an audit line its `timestamp`', '/timestamp'));
  }
  const id = read.businessKey ? businessRecordId('openstack-audit', ...read.businessKey) : lineRecordId(envelope, message);
  return { records: [auditRecord({ ...read.facts, id, timestamp: read.timestamp }, envelope, message)], rejections: [] };
}

function readAudit(object: JsonObject, wrapper: WrapperContext | null, zone: Zone, origin: string): OpenStackReading | Reasons {
  if (Object.hasOwn(object, 'event_type') || Object.hasOwn(object, 'payload')) {
    if (!validateNotification(object)) return { reasons: schemaReasons(validateNotification, 'an oslo.messaging notification', '', origin) };
    const notification = readNotification(object);
    const payload = isJsonObject(notification.payload) ? notification.payload : undefined;
    if (payload && isCadfEvent(payload)) {
      if (!validateCadf(payload)) return { reasons: schemaReasons(validateCadf, 'a CADF event', '/payload', origin) };
      return readCadf(payload, notification, wrapper);
    }
    return readNotificationEvent(notification, wrapper);
  }
  if (isCadfEvent(object)) {
    if (!validateCadf(object)) return { reasons: schemaReasons(validateCadf, 'a CADF event', '', origin) };
    return readCadf(object, null, wrapper);
  }
  if (isNovaAuditLine(object) || Object.hasOwn(object, 'context')) {
    if (!validateNovaAuditLine(object)) return { reasons: schemaReasons(validateNovaAuditLine, 'a Nova audit line', '', origin) };
    return readNovaAuditLine(object, zone);
  }
  return {
    reasons: [
      {
        code: 'RECORD_INVALID',
        rule: 'shape',
        path: '',
        message: `the JSON object is none of the OpenStack audit inputs: a notification has event_type and payload, a CADF event typeURI, action and outcome, a Nova audit line timestamp and context (keys found: ${Object.keys(object).slice(0, 8).join(', ') || 'none'}) (${origin})`,
      },
    ],
  };
}

type Unwrapped = { json: string; wrapper: WrapperContext | null } | Reasons;

const leadingTime = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\s+(?=\{)/;

/** The JSON inside an oslo.log line (the log notification driver), or behind a bare timestamp; the text itself otherwise. */
function unwrapLogLine(message: string): Unwrapped {
  const text = message.trim();
  if (text.startsWith('{') || text.startsWith('[')) return { json: text, wrapper: null };
  const bare = leadingTime.exec(text);
  if (bare) return { json: text.slice(bare[0].length), wrapper: null };
  const header = parseOsloHeader(text.split('\n', 1)[0] as string);
  if (header === null) {
    return { reasons: [{ code: 'RECORD_UNPARSABLE', rule: 'json', message: `expected a CADF event, an oslo.messaging notification or a Nova audit line as JSON, or an oslo.log line whose message is one, got ${describeValue(text)}` }] };
  }
  const context = parseContext(header.rest);
  const json = context.message.trim();
  if (!json.startsWith('{')) {
    const pythonRepr = /Payload: \{'/.test(context.message);
    return {
      reasons: [
        {
          code: 'RECORD_UNPARSABLE',
          rule: 'json',
          message: pythonRepr
            ? "the oslo.log line holds keystonemiddleware's Python-repr audit payload, which is not JSON: configure [audit_middleware_notifications] with an oslo.messaging driver (messagingv2, or log for JSON in the log)"
            : `the oslo.log line's message is not a JSON audit event (logger ${header.logger}), got ${describeValue(context.message)}`,
        },
      ],
    };
  }
  return {
    json,
    wrapper: { requestId: context.requestId, globalRequestId: context.globalRequestId, userId: context.userId, projectId: context.projectId, host: header.outer?.host ?? null },
  };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, problem: jsonProblem(text, error) };
  }
}
