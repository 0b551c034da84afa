import type { Admin, Bus } from '../../pipeline/bus/types.js';
import type { KafkaBackendName } from '../../pipeline/config/types.js';
import { testBus, uniqueName } from './world.js';

export interface IsolatedBus {
  bus: Bus;
  admin: Admin;
  /** the physical names of raw.<kind> and dlq.<kind> */
  raw: string;
  dlq: string;
  /** the topic prefix no other test shares, ending in a dot */
  prefix: string;
}

export interface IsolatedBusOptions {
  kind?: string;
  /** partitions of raw.<kind>; dlq.<kind> has one */
  partitions?: number;
  /** topic configs, e.g. `max.message.bytes` */
  configs?: { raw?: Record<string, string>; dlq?: Record<string, string> };
}

/** A bus whose topics no other test shares (a unique topic prefix), with raw.<kind> and dlq.<kind> created. */
export async function isolatedBus(backend: KafkaBackendName = 'kafkajs', options: IsolatedBusOptions = {}): Promise<IsolatedBus> {
  const kind = options.kind ?? 'accounting';
  const prefix = `${uniqueName(`${kind}-${backend}`)}.`;
  const bus = testBus(backend, [`kafka.topicPrefix=${prefix}`]);
  const admin = await bus.admin();
  const raw = bus.topic(`raw.${kind}`);
  const dlq = bus.topic(`dlq.${kind}`);
  await admin.createTopics([
    { topic: raw, partitions: options.partitions ?? 3, ...(options.configs?.raw ? { configs: options.configs.raw } : {}) },
    { topic: dlq, partitions: 1, ...(options.configs?.dlq ? { configs: options.configs.dlq } : {}) },
  ]);
  return { bus, admin, raw, dlq, prefix };
}
