import kafkajs from 'kafkajs';

export type KafkaSecurity = Pick<kafkajs.KafkaConfig, 'ssl' | 'sasl'>;

export interface KafkaClusterView {
  /** node ids of the registered (unfenced) brokers */
  brokerIds: number[];
  /** what Metadata calls the controller; under KRaft any live broker, not the quorum leader */
  controllerId: number | null;
}

async function describeOne(address: string, timeoutMs: number, security: KafkaSecurity): Promise<KafkaClusterView | undefined> {
  const client = new kafkajs.Kafka({ brokers: [address], clientId: 'tally-probe', logLevel: kafkajs.logLevel.NOTHING, connectionTimeout: timeoutMs, requestTimeout: timeoutMs, retry: { retries: 0 }, ...security });
  const admin = client.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { brokerIds: cluster.brokers.map((b) => b.nodeId).sort((a, b) => a - b), controllerId: cluster.controller };
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The cluster as the first of `bootstrap` (comma-separated addresses) that answers sees it; undefined when none does. */
export async function describeKafka(bootstrap: string, timeoutMs = 2000, security: KafkaSecurity = {}): Promise<KafkaClusterView | undefined> {
  // one address at a time: a client given all of them may pick a stopped node and, without retries, give up
  for (const address of bootstrap.split(',').map((a) => a.trim()).filter(Boolean)) {
    const view = await describeOne(address, timeoutMs, security);
    if (view) return view;
  }
  return undefined;
}

/**
 * Whether Kafka answers with a controller and at least `brokers` registered brokers (all of a local
 * cluster); `bootstrap` may list several addresses; `security` adds a secured listener's ssl/sasl.
 */
export async function kafkaReady(bootstrap: string, timeoutMs = 2000, security: KafkaSecurity = {}, brokers = 1): Promise<boolean> {
  const view = await describeKafka(bootstrap, timeoutMs, security);
  return view !== undefined && view.brokerIds.length >= brokers && view.controllerId !== null;
}
