import { xmlAttribute, xmlText } from './ascii.js';
import { int32Max, integer, isoTime, limitedLength, unrenderable } from './checks.js';
import type { MessageFraming, Rendered } from './framing.js';

/** The fields of a cloud.storage record (schemas/avro/cloud.storage.avsc) that a StAR StorageUsageRecord carries. */
export interface StorageRecord {
  record_id: string;
  create_time: number;
  storage_system: string;
  site: string | null;
  storage_share: string | null;
  storage_media: string | null;
  storage_class: string | null;
  file_count: number | null;
  directory_path: string | null;
  local_user: string | null;
  local_group: string | null;
  user_identity: string | null;
  group: string | null;
  sub_group: string | null;
  role: string | null;
  group_attributes: { attribute_type: string; value: string }[];
  start_time: number;
  end_time: number;
  resource_capacity_used: number;
  resource_capacity_allocated: number | null;
  logical_capacity_used: number | null;
}

export const starNamespace = 'http://eu-emi.eu/namespaces/2011/02/storagerecord';

/** cASO's document: the namespace declared once on the root, no XML declaration, no whitespace between elements. */
export const starFraming: MessageFraming = { head: `<sr:StorageUsageRecords xmlns:sr="${starNamespace}">`, separator: '', tail: '</sr:StorageUsageRecords>' };

const element = (name: string, value: string | null): string => (value === null ? '' : `<sr:${name}>${xmlText(limitedLength(name, value, 255))}</sr:${name}>`);
const count = (name: string, value: number | null, max = Number.MAX_SAFE_INTEGER): string => (value === null ? '' : `<sr:${name}>${integer(name, value, 0, max)}</sr:${name}>`);
const attribute = (type: string, value: string | null): string => (value === null ? '' : `<sr:GroupAttribute sr:attributeType="${xmlAttribute(type)}">${xmlText(limitedLength('GroupAttribute', value, 255))}</sr:GroupAttribute>`);

/**
 * One `sr:StorageUsageRecord` as APEL's StarParser reads it: every element and attribute in the
 * storagerecord namespace (an unprefixed attribute reads as empty and fails the message), times as
 * ISO-8601 with an explicit UTC offset, non-ASCII as decimal character references. Elements in
 * cASO's order for what cASO writes; the other StAR fields where the StAR schema puts them.
 */
export function renderStarRecord(record: StorageRecord): Rendered {
  if (record.record_id.trim() === '') unrenderable('RecordId', 'is mandatory in a StAR record', record.record_id);
  if (record.storage_system.trim() === '') unrenderable('StorageSystem', 'is mandatory in a StAR record', record.storage_system);
  const subject =
    element('LocalUser', record.local_user) +
    element('LocalGroup', record.local_group) +
    element('UserIdentity', record.user_identity) +
    element('Group', record.group) +
    attribute('subgroup', record.sub_group) +
    attribute('role', record.role) +
    record.group_attributes.map((a) => attribute(a.attribute_type, a.value)).join('');
  const xml =
    '<sr:StorageUsageRecord>' +
    `<sr:RecordIdentity sr:createTime="${isoTime('CreateTime', record.create_time)}" sr:recordId="${xmlAttribute(limitedLength('RecordId', record.record_id, 255))}" />` +
    element('StorageSystem', record.storage_system) +
    element('Site', record.site) +
    element('StorageShare', record.storage_share) +
    element('StorageMedia', record.storage_media) +
    element('StorageClass', record.storage_class) +
    count('FileCount', record.file_count, int32Max) +
    element('DirectoryPath', record.directory_path) +
    (subject ? `<sr:SubjectIdentity>${subject}</sr:SubjectIdentity>` : '') +
    `<sr:StartTime>${isoTime('StartTime', record.start_time)}</sr:StartTime>` +
    `<sr:EndTime>${isoTime('EndTime', record.end_time)}</sr:EndTime>` +
    count('ResourceCapacityUsed', record.resource_capacity_used) +
    count('ResourceCapacityAllocated', record.resource_capacity_allocated) +
    count('LogicalCapacityUsed', record.logical_capacity_used) +
    '</sr:StorageUsageRecord>';
  return { text: xml, transliterated: 0 };
}
