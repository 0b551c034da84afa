import { epochSeconds, integer, limitedLength, readsAsNull, unrenderable } from './checks.js';
import type { MessageFraming, Rendered } from './framing.js';
import { pyLiteral, pyString, pythonJsonObject } from './python-json.js';

/** The fields of a cloud.ip record (schemas/avro/cloud.ip.avsc) that the public IP message carries. */
export interface IpRecord {
  site_name: string;
  cloud_compute_service: string | null;
  cloud_type: string | null;
  local_user: string | null;
  local_group: string | null;
  global_user_name: string | null;
  fqan: string | null;
  ip_version: number;
  ip_count: number;
  record_uuid: string | null;
  measurement_time: number;
}

export interface IpJsonOptions {
  /** write cASO's per-record `uuid` key (random per run) when the record has one: cASO sends it, APEL's draft IP parser (PR #226) refuses it */
  includeUuid: boolean;
}

/** cASO's envelope, as json.dumps writes it: `"Version": "0.2"` without a "v", records joined by ", ". */
export const ipFraming: MessageFraming = { head: '{"Type": "APEL Public IP message", "Version": "0.2", "UsageRecords": [', separator: ', ', tail: ']}' };

const text = (key: string, value: string | null): string | null => (value === null ? null : limitedLength(key, value, 255));

/** One UsageRecords entry in cASO's key order (SiteName, CloudType, CloudComputeService, uuid, LocalUser, GlobalUserName, LocalGroup, FQAN, IPVersion, IPCount, MeasurementTime), non-ASCII as \uXXXX. */
export function renderIpRecord(record: IpRecord, options: IpJsonOptions): Rendered {
  if (readsAsNull(record.site_name)) unrenderable('SiteName', 'is mandatory in a public IP record', record.site_name);
  if (record.ip_version !== 4 && record.ip_version !== 6) unrenderable('IPVersion', 'must be 4 or 6', record.ip_version);
  const entry = pythonJsonObject([
    ['SiteName', pyString(text('SiteName', record.site_name))],
    ['CloudType', pyString(text('CloudType', record.cloud_type))],
    ['CloudComputeService', pyString(text('CloudComputeService', record.cloud_compute_service))],
    ['uuid', options.includeUuid ? pyString(text('uuid', record.record_uuid)) : null],
    ['LocalUser', pyString(text('LocalUser', record.local_user))],
    ['GlobalUserName', pyString(text('GlobalUserName', record.global_user_name))],
    ['LocalGroup', pyString(text('LocalGroup', record.local_group))],
    ['FQAN', pyString(text('FQAN', record.fqan))],
    ['IPVersion', pyLiteral(String(record.ip_version))],
    ['IPCount', pyLiteral(integer('IPCount', record.ip_count, 0, 2_147_483_647))],
    ['MeasurementTime', pyLiteral(String(epochSeconds('MeasurementTime', record.measurement_time)))],
  ]);
  return { text: entry, transliterated: 0 };
}
