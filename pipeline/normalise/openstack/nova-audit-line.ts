import { emptyDetails, putDetail } from '../common/audit-event.js';
import { civilToMillis, parseIsoLike, type Zone } from '../common/date-time.js';
import { tracebackException } from '../oslo/message.js';
import { projectOf } from '../oslo/service.js';
import { firstTextAt, isJsonObject, objectAt, textAt, textsAt, type JsonObject } from './json-fields.js';
import { typeOfVerb, type OpenStackReading } from './reading.js';

/**
 * A JSON audit line in the spirit of the Nova audit-logging spec (NovaSpec:audit-logging): "Common
 * logging keys would be: Timestamp, Context (request context: user who initiated action, action
 * user attempted to initiate), Current service, Current rpc, Freeform Message, sys.exc_info". The
 * spec fixes no names, so the usual ones are read: timestamp (text, zone-less in the input's zone,
 * or epoch seconds), context{user|user_id, user_name, project|project_id|tenant, action,
 * request_id, global_request_id, remote_address, roles}, action, service, host, rpc (a name or
 * {method, …}), message, level, exc_info|exception|traceback, outcome|result|status.
 */

export function isNovaAuditLine(value: JsonObject): boolean {
  return Object.hasOwn(value, 'timestamp') && (isJsonObject(value.context) || typeof value.action === 'string' || Object.hasOwn(value, 'rpc'));
}

export function readNovaAuditLine(line: JsonObject, zone: Zone): OpenStackReading {
  const context = objectAt(line, 'context') ?? {};
  const rpc = line.rpc;
  const rpcMethod = typeof rpc === 'string' ? rpc : textAt(rpc, 'method');
  const action = firstTextAt(context, 'action') ?? textAt(line, 'action') ?? rpcMethod ?? 'unknown';
  const exception = exceptionLines(line.exc_info ?? line.exception ?? line.traceback);
  const summary = tracebackException(exception) ?? (exception.length > 0 ? { type: exception[exception.length - 1] as string, message: null } : null);
  const stated = firstTextAt(line, 'outcome', 'result', 'status')?.toLowerCase() ?? null;
  const outcome = exception.length > 0 ? 'failure' : stated === null ? 'unknown' : /^(?:success|ok|succeeded|completed|true)$/.test(stated) ? 'success' : /^(?:fail|error|denied|false)/.test(stated) ? 'failure' : 'unknown';
  const service = textAt(line, 'service');
  const details = emptyDetails();
  putDetail(details, 'rpc', typeof rpc === 'string' ? rpc : isJsonObject(rpc) ? rpc : null);
  putDetail(details, 'message', textAt(line, 'message'));
  putDetail(details, 'exception_type', summary?.type);
  putDetail(details, 'is_admin', context.is_admin);
  return {
    timestamp: timestampOf(line.timestamp, zone),
    businessKey: null,
    facts: {
      module: 'openstack',
      dataset: 'openstack.audit',
      provider: service,
      action,
      category: ['api'],
      type: [typeOfVerb(action.split(/[./:]/).pop() ?? action)],
      outcome,
      reason: summary?.message ?? summary?.type ?? null,
      severity: textAt(line, 'level')?.toUpperCase() ?? null,
      user: { id: firstTextAt(context, 'user_id', 'user'), name: textAt(context, 'user_name'), domain: firstTextAt(context, 'user_domain_id', 'user_domain'), roles: textsAt(context, 'roles') },
      project: { id: firstTextAt(context, 'project_id', 'project', 'tenant_id', 'tenant'), name: textAt(context, 'project_name'), domain: firstTextAt(context, 'project_domain_id', 'project_domain') },
      service: { name: service === null ? null : (projectOf(service) ?? service) },
      host: textAt(line, 'host'),
      sourceIp: textAt(context, 'remote_address'),
      transactionId: textAt(context, 'request_id'),
      traceId: textAt(context, 'global_request_id'),
      details,
    },
  };
}

function exceptionLines(value: unknown): string[] {
  if (typeof value === 'string') return value.split('\n').filter((l) => l.trim() !== '');
  if (Array.isArray(value)) return value.flatMap((item) => (typeof item === 'string' ? item.split('\n') : [])).filter((l) => l.trim() !== '');
  return [];
}

function timestampOf(value: unknown, zone: Zone): number | undefined {
  if (typeof value === 'number') {
    const millis = Math.floor(value * 1000);
    return Number.isSafeInteger(millis) && millis >= 0 && millis <= 253_402_300_799_999 ? millis : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const civil = parseIsoLike(value.trim());
  return civil === undefined ? undefined : civilToMillis(civil, zone);
}
