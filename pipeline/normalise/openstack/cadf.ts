import { emptyDetails, putDetail } from '../common/audit-event.js';
import { isoLikeToMillis, utc } from '../common/date-time.js';
import { firstTextAt, objectAt, textAt, textsAt, type JsonObject } from './json-fields.js';
import { readPublisher, severityOf, type Notification } from './notification.js';
import { typeOfVerb, type OpenStackReading, type WrapperContext } from './reading.js';

/**
 * A CADF event (pycadf) as an audit record: keystonemiddleware's audit.http.request/response and
 * Keystone's identity notifications, in a notification envelope or on their own.
 */

/** CADF-shaped: the audit typeURI, or the keys CADF compliance requires */
export function isCadfEvent(value: JsonObject): boolean {
  const typeUri = textAt(value, 'typeURI');
  if (typeUri !== null && typeUri.includes('cloud/audit')) return true;
  return textAt(value, 'action') !== null && textAt(value, 'outcome') !== null && (objectAt(value, 'initiator') !== undefined || objectAt(value, 'target') !== undefined);
}

const uuidSegment = /^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$/;
const identityResources: ReadonlySet<string> = new Set(['user', 'group', 'project', 'domain', 'role', 'role_assignment', 'trust', 'policy', 'application_credential', 'credential', 'OS-TRUST:trust']);

export function readCadf(cadf: JsonObject, notification: Notification | null, wrapper: WrapperContext | null): OpenStackReading {
  const action = textAt(cadf, 'action') ?? 'unknown';
  const rawOutcome = (textAt(cadf, 'outcome') ?? 'unknown').toLowerCase();
  const outcome = rawOutcome === 'success' || rawOutcome === 'failure' ? rawOutcome : rawOutcome === 'pending' ? null : 'unknown';
  const initiator = objectAt(cadf, 'initiator');
  const target = objectAt(cadf, 'target');
  const observer = objectAt(cadf, 'observer');
  const reason = objectAt(cadf, 'reason');
  const host = objectAt(initiator, 'host');
  const eventType = notification?.eventType ?? null;
  const api = eventType?.startsWith('audit.http') === true || (eventType === null && textAt(cadf, 'requestPath') !== null);
  const identity = !api && (eventType?.startsWith('identity.') === true || textAt(observer, 'typeURI') === 'service/security');
  const dataset = api ? 'openstack.api' : identity ? 'openstack.identity' : eventType ? `openstack.${eventType.split('.')[0] as string}` : 'openstack.audit';

  const reasonType = textAt(reason, 'reasonType');
  const reasonCode = textAt(reason, 'reasonCode');
  const httpStatus = reasonType === 'HTTP' && reasonCode !== null && /^\d{3}$/.test(reasonCode) ? Number(reasonCode) : null;
  const denied = outcome === 'failure' && (reasonCode === '401' || reasonCode === '403');
  const requestPath = textAt(cadf, 'requestPath');
  const path = requestPath === null ? null : requestPath.split('?', 1)[0] as string;

  const { category, type } = api ? apiCategories(action, denied) : identity ? identityCategories(action, outcome) : { category: ['api'], type: [typeOfVerb(action)] };
  const targetType = textAt(target, 'typeURI');
  const resourceId = api ? resourceIdOfPath(path) : textAt(cadf, 'resource_info');
  const publisher = readPublisher(notification?.publisherId ?? null);
  const serviceType = api && targetType?.startsWith('service/') ? (targetType.split('/')[1] ?? null) : identity ? 'identity' : publisher.type;

  const details = emptyDetails();
  putDetail(details, 'event_type', eventType);
  putDetail(details, 'message_id', notification?.messageId);
  putDetail(details, 'cadf_type', textAt(cadf, 'eventType'));
  putDetail(details, 'target_id', textAt(target, 'id'));
  putDetail(details, 'target_type', targetType);
  putDetail(details, 'observer_id', textAt(observer, 'id'));
  putDetail(details, 'observer_type', textAt(observer, 'typeURI'));
  putDetail(details, 'initiator_type', textAt(initiator, 'typeURI'));
  putDetail(details, 'identity_status', textAt(objectAt(initiator, 'credential'), 'identity_status'));
  putDetail(details, 'reason_code', reasonCode);
  putDetail(details, 'reason_type', reasonType);
  putDetail(details, 'request_path', requestPath);
  for (const tag of textsAt(cadf, 'tags')) {
    const correlation = /^correlation_id\?value=(.+)$/.exec(tag);
    if (correlation) putDetail(details, 'correlation_id', correlation[1]);
  }
  // a role assignment names its parts at the top of the event
  for (const key of ['role', 'project', 'domain', 'user', 'group', 'inherited_to_projects']) putDetail(details, key, cadf[key]);
  const attachments = Array.isArray(cadf.attachments) ? cadf.attachments.map((a) => textAt(a, 'name')).filter((n): n is string => n !== null) : [];
  putDetail(details, 'attachments', attachments.join(','));

  const eventTime = textAt(cadf, 'eventTime');
  const cadfId = textAt(cadf, 'id');
  return {
    timestamp: (eventTime === null ? undefined : isoLikeToMillis(eventTime.trim(), utc)) ?? notification?.timestamp,
    businessKey: notification?.messageId ? ['notification', notification.messageId] : cadfId ? ['cadf', cadfId, rawOutcome, eventTime ?? ''] : null,
    facts: {
      module: 'openstack',
      dataset,
      provider: notification?.publisherId ?? null,
      action,
      category,
      type,
      outcome,
      reason: reasonType !== null && reasonType !== 'HTTP' ? reasonType : null,
      eventId: cadfId ?? notification?.messageId ?? null,
      severity: severityOf(notification?.priority ?? null),
      user: {
        id: firstTextAt(initiator, 'user_id', 'id') ?? notification?.context.userId ?? wrapper?.userId ?? null,
        name: firstTextAt(initiator, 'username', 'name', 'user_name'),
        domain: firstTextAt(initiator, 'user_domain_id', 'domain_id', 'domain'),
      },
      project: {
        id: textAt(initiator, 'project_id') ?? notification?.context.projectId ?? wrapper?.projectId ?? null,
        name: textAt(initiator, 'project_name') ?? notification?.context.projectName ?? null,
        domain: textAt(initiator, 'project_domain_id') ?? notification?.context.projectDomain ?? null,
      },
      service: { name: api ? (textAt(target, 'name') ?? publisher.service) : identity ? 'keystone' : publisher.service, type: serviceType },
      host: publisher.host ?? wrapper?.host ?? null,
      sourceIp: textAt(host, 'address') ?? notification?.context.remoteAddress ?? null,
      userAgent: textAt(host, 'agent'),
      target: { type: targetType, id: resourceId ?? textAt(target, 'id'), name: textAt(target, 'name') },
      transactionId: textAt(initiator, 'request_id') ?? notification?.context.requestId ?? wrapper?.requestId ?? null,
      traceId: textAt(initiator, 'global_request_id') ?? notification?.context.globalRequestId ?? wrapper?.globalRequestId ?? null,
      http: { status_code: httpStatus, path },
      details,
    },
  };
}

/** keystonemiddleware's target.id is the catalog endpoint: the resource is the last id in the path */
function resourceIdOfPath(path: string | null): string | null {
  if (path === null) return null;
  const segments = path.split('/');
  for (let i = segments.length - 1; i >= 0; i -= 1) if (uuidSegment.test(segments[i] as string)) return segments[i] as string;
  return null;
}

function apiCategories(action: string, denied: boolean): { category: string[]; type: string[] } {
  const type = action.startsWith('authenticate') ? 'start' : typeOfVerb(action);
  return { category: ['api'], type: denied ? [type, 'denied'] : [type] };
}

/** Keystone: `authenticate`, `<operation>.<resource>` (created.project, deleted.role_assignment, disabled.user) */
function identityCategories(action: string, outcome: string | null): { category: string[]; type: string[] } {
  if (action.startsWith('authenticate')) return { category: ['authentication'], type: [outcome === 'success' ? 'start' : 'info'] };
  const [operation = '', resource = ''] = action.split('.', 2);
  const change = /^creat/.test(operation) ? 'creation' : /^delet/.test(operation) ? 'deletion' : /^(?:updat|disabl|enabl)/.test(operation) ? 'change' : 'info';
  if (!identityResources.has(resource)) return { category: ['configuration'], type: [change] };
  const entity = resource === 'user' ? 'user' : resource === 'group' || resource === 'project' || resource === 'domain' ? 'group' : 'admin';
  return { category: ['iam'], type: [entity, change] };
}
