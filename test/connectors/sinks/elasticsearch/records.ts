import { domainCodec } from '../../../../pipeline/avro.js';

/** An accounting.usage record as the transform writes it (Avro field values, times in ms). */
export interface UsageRecord {
  id: string;
  timestamp: number;
  serviceid: string;
  level: string;
  userid: string;
  userdelegate: string | null;
  resource: string;
  action: string;
  comment: string | null;
  starttime: number | null;
  endtime: number | null;
  duration_ms: number | null;
  value: number;
  signed_value: number;
  measure: string;
  unit: string | null;
  type: string;
  source: { input: string; host: string | null; path: string | null; offset: number | null; client: string | null; tags: string[] };
}

const units: Record<string, string> = { time: 'ms', information: 'MB', throughput: 'MB/s', unit: '1' };

export function usageRecord(overrides: Partial<UsageRecord> & { id: string; timestamp: number }): UsageRecord {
  const value = overrides.value ?? 1;
  const type = overrides.type ?? '+';
  const measure = overrides.measure ?? 'unit';
  return {
    serviceid: 'svc-a',
    level: 'accounting',
    userid: 'alice',
    userdelegate: null,
    resource: 'dataset-1',
    action: 'download',
    comment: null,
    starttime: null,
    endtime: null,
    duration_ms: null,
    measure,
    unit: units[measure] ?? null,
    type,
    source: { input: 'http', host: 'probe-1', path: null, offset: null, client: '10.0.0.7', tags: [] },
    ...overrides,
    value,
    signed_value: overrides.signed_value ?? (type === '-' ? -value : type === '0' ? 0 : value),
  };
}

export const usageCodec = () => domainCodec('accounting.usage');

export function encodeUsage(record: UsageRecord): Buffer {
  return usageCodec().encode(record as unknown as Record<string, unknown>);
}

/** The Kafka record the transform would produce for it: key = id, Avro value, schema headers. */
export function usageMessage(topic: string, record: UsageRecord): { topic: string; key: string; value: Buffer; headers: Record<string, string> } {
  return { topic, key: record.id, value: encodeUsage(record), headers: usageCodec().headers };
}
