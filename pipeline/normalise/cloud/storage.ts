import type { RejectionReason } from '../../dlq.js';
import { refused, optional, type BuildContext, type BuildOutcome } from './build.js';
import { parseFqan } from './fqan.js';
import { businessKeyId } from '../common/record-id.js';
import { monthOf, parseIsoDateTime, secondsToMillis } from './time.js';
import { recordSchema, schemaReasons } from './validate.js';

/** cloud.storage: one EMI StAR storage record, or a cASO StorageRecord JSON read as cASO renders it in StAR. */
export const storageTopic = 'cloud.storage';

const starSchema = recordSchema('caso-storage.schema.json', 'a StAR storage record', '/definitions/star');
const casoSchema = recordSchema('caso-storage.schema.json', 'a cASO storage record', '/definitions/casoJson');

const bytesPerGib = 1073741824;

/** A StorageUsageRecord after XML parsing, as it passed the schema's `star` definition. */
interface StarFields {
  RecordId: string;
  CreateTime: string;
  StorageSystem: string;
  Site?: string;
  StorageShare?: string;
  StorageMedia?: string;
  StorageClass?: string;
  FileCount?: number;
  DirectoryPath?: string;
  LocalUser?: string;
  LocalGroup?: string;
  UserIdentity?: string;
  Group?: string;
  SubGroup?: string;
  Role?: string;
  GroupAttributes?: { AttributeType: string; Value: string }[];
  StartTime: string;
  EndTime: string;
  ResourceCapacityUsed: number;
  ResourceCapacityAllocated?: number;
  LogicalCapacityUsed?: number;
}

/** A cASO StorageRecord JSON, as it passed the schema's `casoJson` definition. */
interface CasoStorageFields {
  SiteName: string;
  CloudType?: string;
  CloudComputeService: string;
  VolumeUUID: string;
  RecordName?: string;
  LocalUser: string;
  GlobalUserName?: string;
  LocalGroup: string;
  FQAN?: string;
  ActiveDuration: number;
  AttachedDuration?: number;
  AttachedTo?: string;
  Type?: string;
  Status: string;
  Capacity: number;
  StartTime: number;
  CreateTime: number;
  VolumeCreationTime?: number;
}

/** What both spellings come to: the StAR fields (times in ms) and cASO's own extras. */
interface StorageInput {
  recordId: string;
  createTime: number;
  storageSystem: string;
  site: string | null;
  star: Pick<StarFields, 'StorageShare' | 'StorageMedia' | 'StorageClass' | 'FileCount' | 'DirectoryPath' | 'SubGroup' | 'Role' | 'GroupAttributes' | 'ResourceCapacityAllocated' | 'LogicalCapacityUsed'>;
  localUser: string | null;
  localGroup: string | null;
  userIdentity: string | null;
  group: string | null;
  startTime: number;
  endTime: number;
  resourceCapacityUsed: number;
  caso: Partial<CasoStorageFields>;
}

export function buildStorageFromStar(fields: Record<string, unknown>, context: BuildContext): BuildOutcome {
  const reasons = schemaReasons(starSchema, fields, context.origin, context.written);
  if (reasons.length > 0) return refused(reasons);
  const star = fields as unknown as StarFields;
  return storageRecord(
    {
      recordId: star.RecordId,
      // the schema checked the three as iso-date-time
      createTime: parseIsoDateTime(star.CreateTime) as number,
      storageSystem: star.StorageSystem,
      site: optional(star.Site),
      star,
      localUser: optional(star.LocalUser),
      localGroup: optional(star.LocalGroup),
      userIdentity: optional(star.UserIdentity),
      group: optional(star.Group),
      startTime: parseIsoDateTime(star.StartTime) as number,
      endTime: parseIsoDateTime(star.EndTime) as number,
      resourceCapacityUsed: star.ResourceCapacityUsed,
      caso: {},
    },
    context,
  );
}

/** cASO's StorageRecord.ssm_message: StorageSystem = CloudComputeService, EndTime = createTime = the measurement, bytes = GiB × 2^30. */
export function buildStorageFromCaso(fields: Record<string, unknown>, context: BuildContext): BuildOutcome {
  const reasons = schemaReasons(casoSchema, fields, context.origin, context.written);
  if (reasons.length > 0) return refused(reasons);
  const caso = fields as unknown as CasoStorageFields;
  const bytes = caso.Capacity * bytesPerGib;
  if (!Number.isSafeInteger(bytes)) return refused([tooLarge(caso.Capacity, context)]);
  const measured = secondsToMillis(caso.CreateTime);
  return storageRecord(
    {
      recordId: caso.VolumeUUID,
      createTime: measured,
      storageSystem: caso.CloudComputeService,
      site: caso.SiteName,
      star: {},
      localUser: caso.LocalUser,
      localGroup: caso.LocalGroup,
      userIdentity: optional(caso.GlobalUserName),
      group: optional(caso.FQAN),
      startTime: secondsToMillis(caso.StartTime),
      endTime: measured,
      resourceCapacityUsed: bytes,
      caso,
    },
    context,
  );
}

function storageRecord(input: StorageInput, context: BuildContext): BuildOutcome {
  const month = monthOf(input.endTime);
  const id = businessKeyId(storageTopic, [input.site, input.storageSystem, input.recordId, month]);
  const { star, caso } = input;
  return {
    record: {
      topic: storageTopic,
      id,
      value: {
        id,
        record_id: input.recordId,
        create_time: input.createTime,
        storage_system: input.storageSystem,
        site: input.site,
        storage_share: optional(star.StorageShare),
        storage_media: optional(star.StorageMedia),
        storage_class: optional(star.StorageClass),
        file_count: optional(star.FileCount),
        directory_path: optional(star.DirectoryPath),
        local_user: input.localUser,
        local_group: input.localGroup,
        user_identity: input.userIdentity,
        group: input.group,
        sub_group: optional(star.SubGroup),
        role: optional(star.Role),
        group_attributes: (star.GroupAttributes ?? []).map((a) => ({ attribute_type: a.AttributeType, value: a.Value })),
        vo: parseFqan(input.group).vo,
        start_time: input.startTime,
        end_time: input.endTime,
        resource_capacity_used: input.resourceCapacityUsed,
        resource_capacity_allocated: optional(star.ResourceCapacityAllocated),
        logical_capacity_used: optional(star.LogicalCapacityUsed),
        capacity_gb: input.resourceCapacityUsed / bytesPerGib,
        measurement_time: input.endTime,
        accounting_month: month,
        cloud_type: optional(caso.CloudType),
        record_name: optional(caso.RecordName),
        storage_type: optional(caso.Type),
        status: optional(caso.Status),
        active_duration_seconds: optional(caso.ActiveDuration),
        attached_duration_seconds: optional(caso.AttachedDuration),
        attached_to: optional(caso.AttachedTo),
        volume_creation_time: caso.VolumeCreationTime === undefined ? null : secondsToMillis(caso.VolumeCreationTime),
        source: context.source,
      },
    },
  };
}

function tooLarge(capacity: number, context: BuildContext): RejectionReason {
  return {
    code: 'RECORD_INVALID',
    rule: 'maximum',
    path: '/Capacity',
    message: `\`Capacity\` ${capacity} GiB is ${capacity} × 2^30 bytes in StAR, more than ${Number.MAX_SAFE_INTEGER} (2^53 - 1, the largest integer Tally carries exactly); is it already in bytes? (${context.origin})`,
  };
}
