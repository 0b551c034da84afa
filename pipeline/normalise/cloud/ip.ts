import { refused, optional, type BuildContext, type BuildOutcome } from './build.js';
import { parseFqan } from './fqan.js';
import { businessKeyId } from '../common/record-id.js';
import { monthOf, secondsToMillis } from './time.js';
import { recordSchema, schemaReasons } from './validate.js';

/** cloud.ip: one public IP usage record (APEL Public IP message item or cASO IPRecord JSON). */
export const ipTopic = 'cloud.ip';

const schema = recordSchema('caso-ip.schema.json', 'a public IP record');

interface IpFields {
  SiteName: string;
  CloudComputeService?: string | null;
  CloudType?: string;
  uuid?: string;
  LocalUser?: string | null;
  LocalGroup?: string;
  GlobalUserName?: string | null;
  FQAN?: string;
  IPVersion: 4 | 6;
  IPCount: number;
  MeasurementTime: number;
}

export function buildIp(fields: Record<string, unknown>, context: BuildContext): BuildOutcome {
  const reasons = schemaReasons(schema, fields, context.origin, context.written);
  if (reasons.length > 0) return refused(reasons);
  const ip = fields as unknown as IpFields;
  const measured = secondsToMillis(ip.MeasurementTime);
  const month = monthOf(measured);
  const id = businessKeyId(ipTopic, [ip.SiteName, ip.CloudComputeService, ip.LocalGroup, ip.LocalUser, ip.GlobalUserName, ip.IPVersion, month]);
  return {
    record: {
      topic: ipTopic,
      id,
      value: {
        id,
        site_name: ip.SiteName,
        cloud_compute_service: optional(ip.CloudComputeService),
        cloud_type: optional(ip.CloudType),
        local_user: optional(ip.LocalUser),
        local_group: optional(ip.LocalGroup),
        global_user_name: optional(ip.GlobalUserName),
        fqan: optional(ip.FQAN),
        ...parseFqan(ip.FQAN),
        ip_version: ip.IPVersion,
        ip_count: ip.IPCount,
        record_uuid: optional(ip.uuid),
        measurement_time: measured,
        accounting_month: month,
        source: context.source,
      },
    },
  };
}
