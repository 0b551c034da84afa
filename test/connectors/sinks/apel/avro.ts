import { readFileSync } from 'node:fs';
import path from 'node:path';
import { domainCodec, schemaDir } from '../../../../pipeline/avro.js';

interface Field {
  name: string;
  default?: unknown;
}

const fieldsOf = (topic: string): Field[] => (JSON.parse(readFileSync(path.join(schemaDir, `${topic}.avsc`), 'utf8')) as { fields: Field[] }).fields;

/** A full Avro value of a domain topic: the given fields, the schema's defaults for the rest, and a plausible source. */
export function avroValue(topic: string, given: Record<string, unknown>, required: Record<string, unknown> = {}): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of fieldsOf(topic)) {
    if (field.name in given) value[field.name] = given[field.name];
    else if (field.name in required) value[field.name] = required[field.name];
    else if (field.name === 'source') value.source = { input: 'apel-queue', format: 'test', record_number: null, host: null, path: null, offset: null, client: null, tags: [] };
    else if ('default' in field) value[field.name] = field.default;
    else throw new Error(`${topic}: the test gives no value for required field ${field.name}`);
  }
  return value;
}

export const encode = (topic: string, value: Record<string, unknown>): Buffer => domainCodec(topic).encode(value);

/** The derived fields the APEL renderer never reads, filled so the record fits its schema. */
export const derived = {
  'cloud.vm': (v: Record<string, unknown>) => ({ id: `vm-${String(v.vm_uuid)}`, running: v.end_time === null, measurement_time: (v.end_time as number | null) ?? (v.start_time as number | null) ?? 0, accounting_month: '2023-05' }),
  'cloud.ip': (v: Record<string, unknown>) => ({ id: `ip-${String(v.local_group)}-${String(v.ip_version)}`, accounting_month: '2023-05' }),
  'cloud.accelerator': (v: Record<string, unknown>) => ({ id: `acc-${String(v.associated_record)}-${String(v.model)}`, measurement_time: Date.UTC(Number(v.measurement_year), Number(v.measurement_month) - 1), accounting_month: '2022-06', active_hours: 1, available_hours: 1, accelerator_hours: 1 }),
  'cloud.storage': (v: Record<string, unknown>) => ({ id: `st-${String(v.record_id)}`, capacity_gb: Number(v.resource_capacity_used) / 2 ** 30, measurement_time: v.end_time, accounting_month: '2024-01' }),
} as const;
