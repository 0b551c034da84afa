import { emptyDetails, putDetail } from '../common/audit-event.js';
import { firstTextAt, isJsonObject, objectAt, textAt, type JsonObject } from './json-fields.js';
import { outcomeOfEventType, readPublisher, serviceOfServiceType, severityOf, type Notification } from './notification.js';
import { typeOfVerb, type OpenStackReading, type WrapperContext } from './reading.js';

/**
 * Notifications that carry no CADF event: Nova's instance notifications, legacy
 * (`compute.instance.create.end`, payload from `info_from_instance`) and versioned
 * (`instance.create.end`, payload an oslo.versionedobjects serialisation under `nova_object.data`),
 * Keystone's basic format (`identity.user.created` with `resource_info`), and any other service's.
 */

const maxPayloadKeys = 64;

export function readNotificationEvent(notification: Notification, wrapper: WrapperContext | null): OpenStackReading {
  const { eventType, context } = notification;
  const versioned = objectAt(notification.payload, 'nova_object.data');
  const payload = versioned ?? (isJsonObject(notification.payload) ? notification.payload : {});
  const publisher = readPublisher(notification.publisherId);
  const instance = /^(?:compute\.)?instance\./.test(eventType);
  const identity = eventType.startsWith('identity.');
  const fault = objectAt(objectAt(payload, 'fault'), 'nova_object.data');

  const details = emptyDetails();
  putDetail(details, 'event_type', eventType);
  putDetail(details, 'message_id', notification.messageId);
  if (versioned) {
    putDetail(details, 'payload_class', textAt(notification.payload, 'nova_object.name'));
    putDetail(details, 'payload_version', textAt(notification.payload, 'nova_object.version'));
    const flavor = objectAt(objectAt(payload, 'flavor'), 'nova_object.data');
    for (const key of ['name', 'flavorid', 'vcpus', 'memory_mb', 'root_gb', 'ephemeral_gb']) putDetail(details, `flavor_${key}`, flavor?.[key]);
    putDetail(details, 'exception', fault?.exception);
  }
  copyScalars(payload, details);

  const action = eventType;
  const outcome = outcomeOfEventType(eventType);
  const reason = textAt(fault, 'exception_message') ?? (outcome === 'failure' ? firstTextAt(payload, 'exception', 'message') : null);
  const { category, type } = instance ? instanceCategories(eventType) : identity ? identityCategories(eventType) : { category: ['api'], type: [verbTypeOf(eventType)] };
  const actorUser = instance ? firstTextAt(payload, 'action_initiator_user', 'user_id') : textAt(payload, 'user_id');
  const actorProject = instance ? firstTextAt(payload, 'action_initiator_project', 'tenant_id', 'project_id') : firstTextAt(payload, 'project_id', 'tenant_id');
  return {
    timestamp: notification.timestamp,
    businessKey: notification.messageId ? ['notification', notification.messageId] : null,
    facts: {
      module: 'openstack',
      dataset: instance ? 'openstack.compute' : identity ? 'openstack.identity' : `openstack.${eventType.split('.')[0] as string}`,
      provider: notification.publisherId,
      action,
      category,
      type,
      outcome,
      reason,
      eventId: notification.messageId,
      severity: severityOf(notification.priority),
      user: { id: context.userId ?? actorUser ?? wrapper?.userId ?? null, name: context.userName, domain: context.userDomain, roles: context.roles },
      project: { id: context.projectId ?? actorProject ?? wrapper?.projectId ?? null, name: context.projectName, domain: context.projectDomain },
      service: { name: identity ? 'keystone' : instance ? 'nova' : (publisher.service ?? serviceOfServiceType(eventType.split('.')[0] ?? null)), type: instance ? 'compute' : identity ? 'identity' : publisher.type },
      host: firstTextAt(payload, 'host') ?? publisher.host ?? wrapper?.host ?? null,
      sourceIp: context.remoteAddress,
      target: instance
        ? { type: 'instance', id: firstTextAt(payload, 'uuid', 'instance_id'), name: textAt(payload, 'display_name') }
        : identity
          ? { type: eventType.split('.')[1] ?? null, id: textAt(payload, 'resource_info') }
          : { id: firstTextAt(payload, 'resource_info', 'id') },
      transactionId: context.requestId ?? textAt(payload, 'request_id') ?? wrapper?.requestId ?? null,
      traceId: context.globalRequestId ?? wrapper?.globalRequestId ?? null,
      details,
    },
  };
}

/** the first segment that is a verb: volume.create.end → creation, image.update → change */
function verbTypeOf(eventType: string): string {
  for (const segment of eventType.split('.')) {
    const type = typeOfVerb(segment);
    if (type !== 'info') return type;
  }
  return 'info';
}

/** the payload's own scalar fields, as text; nested objects (image_meta, ip addresses) stay in log.original */
function copyScalars(payload: JsonObject, details: Record<string, string>): void {
  let copied = 0;
  for (const [key, value] of Object.entries(payload)) {
    if (copied >= maxPayloadKeys) break;
    if (value === null || typeof value === 'object' || Object.hasOwn(details, key)) continue;
    putDetail(details, key, value);
    copied += 1;
  }
}

/**
 * ECS's host category states only access, change, end, info, start: an instance created or
 * powered on starts, one deleted or powered off ends, everything else changes it.
 */
function instanceCategories(eventType: string): { category: string[]; type: string[] } {
  const verb = eventType.replace(/^(?:compute\.)?instance\./, '').split('.')[0] ?? '';
  const type = /^(?:create|power_on|unshelve|unpause|resume|restore)/.test(verb) ? 'start' : /^(?:delete|power_off|shutdown|shelve_offload|soft_delete)/.test(verb) ? 'end' : /^(?:exists|usage)/.test(verb) ? 'info' : 'change';
  return { category: ['host'], type: [type] };
}

/** `identity.<resource>.<operation>`: identity.user.created, identity.project.deleted */
function identityCategories(eventType: string): { category: string[]; type: string[] } {
  const [, resource = '', operation = ''] = eventType.split('.');
  if (resource === 'authenticate') return { category: ['authentication'], type: ['info'] };
  const change = operation.startsWith('creat') ? 'creation' : operation.startsWith('delet') ? 'deletion' : 'change';
  const entity = resource === 'user' ? 'user' : resource === 'group' || resource === 'project' || resource === 'domain' ? 'group' : 'admin';
  return { category: ['iam'], type: [entity, change] };
}
