import { isoLikeToMillis, utc } from '../common/date-time.js';
import { projectOf } from '../oslo/service.js';
import { firstTextAt, textAt, textsAt, type JsonObject } from './json-fields.js';

/**
 * An oslo.messaging notification envelope (`Notifier._notify`): message_id, publisher_id,
 * event_type, priority, payload, timestamp (`str(timeutils.utcnow())`, UTC without zone), and the
 * request context the AMQP driver flattens into `_context_<key>` keys.
 */

export interface NotificationContext {
  requestId: string | null;
  globalRequestId: string | null;
  userId: string | null;
  userName: string | null;
  userDomain: string | null;
  projectId: string | null;
  projectName: string | null;
  projectDomain: string | null;
  roles: string[];
  remoteAddress: string | null;
}

export interface Notification {
  eventType: string;
  publisherId: string | null;
  priority: string | null;
  messageId: string | null;
  /** epoch milliseconds, undefined when the envelope has no readable timestamp */
  timestamp: number | undefined;
  payload: unknown;
  context: NotificationContext;
  raw: JsonObject;
}

export function readNotification(raw: JsonObject): Notification {
  const timestamp = textAt(raw, 'timestamp');
  return {
    eventType: textAt(raw, 'event_type') ?? '',
    publisherId: textAt(raw, 'publisher_id'),
    priority: textAt(raw, 'priority'),
    messageId: textAt(raw, 'message_id'),
    timestamp: timestamp === null ? undefined : isoLikeToMillis(timestamp.trim(), utc),
    payload: raw.payload,
    context: {
      requestId: textAt(raw, '_context_request_id'),
      globalRequestId: textAt(raw, '_context_global_request_id'),
      userId: firstTextAt(raw, '_context_user_id', '_context_user'),
      userName: textAt(raw, '_context_user_name'),
      userDomain: firstTextAt(raw, '_context_user_domain_id', '_context_user_domain'),
      projectId: firstTextAt(raw, '_context_project_id', '_context_tenant_id', '_context_tenant', '_context_project'),
      projectName: textAt(raw, '_context_project_name'),
      projectDomain: firstTextAt(raw, '_context_project_domain_id', '_context_project_domain'),
      roles: textsAt(raw, '_context_roles'),
      remoteAddress: textAt(raw, '_context_remote_address'),
    },
    raw,
  };
}

/** the service type a publisher or CADF typeURI names, and the service that has it */
const serviceOfType: Record<string, string> = {
  compute: 'nova', identity: 'keystone', network: 'neutron', volume: 'cinder', volumev2: 'cinder', volumev3: 'cinder', block_storage: 'cinder',
  image: 'glance', orchestration: 'heat', 'object-store': 'swift', object_store: 'swift', baremetal: 'ironic', 'load-balancer': 'octavia',
  dns: 'designate', 'key-manager': 'barbican', share: 'manila', sharev2: 'manila', placement: 'placement', scheduler: 'nova', conductor: 'nova',
};

export function serviceOfServiceType(type: string | null): string | null {
  return type !== null && Object.hasOwn(serviceOfType, type) ? (serviceOfType[type] as string) : null;
}

export interface Publisher {
  /** the service: keystone for identity.host, nova for compute.host and nova-compute:host */
  service: string | null;
  /** the service type or binary part as written: identity, compute, nova-compute */
  type: string | null;
  host: string | null;
}

/** `identity.host1234` (keystone), `compute.host-224739` (nova legacy), `nova-compute:compute` (nova versioned), `nova-api` (keystonemiddleware: the process) */
export function readPublisher(publisherId: string | null): Publisher {
  if (publisherId === null) return { service: null, type: null, host: null };
  // keystonemiddleware's default is the executable's name, a script's included
  if (/\.py$/.test(publisherId)) return { service: projectOf(publisherId), type: null, host: null };
  const versioned = /^([^:.]+):(.+)$/.exec(publisherId);
  if (versioned) return { service: projectOf(versioned[1] as string) ?? (versioned[1] as string), type: versioned[1] as string, host: versioned[2] as string };
  const dot = publisherId.indexOf('.');
  if (dot > 0) {
    const type = publisherId.slice(0, dot);
    return { service: serviceOfServiceType(type) ?? projectOf(type) ?? type, type, host: publisherId.slice(dot + 1) || null };
  }
  return { service: projectOf(publisherId) ?? publisherId, type: null, host: null };
}

/** `….end` worked, `….error` failed, `….start` is under way; other notifications state no outcome */
export function outcomeOfEventType(eventType: string): 'success' | 'failure' | null {
  if (/\.(?:end|success)$/.test(eventType)) return 'success';
  if (/\.(?:error|failed|failure)$/.test(eventType)) return 'failure';
  return null;
}

/** the notification priority as the audit record's severity (WARN is oslo.messaging's spelling of WARNING) */
export function severityOf(priority: string | null): string | null {
  if (priority === null) return null;
  const upper = priority.toUpperCase();
  return upper === 'WARN' ? 'WARNING' : upper;
}
