import type { IncomingMessage } from '../../../pipeline/bus/types.js';
import { TallyError } from '../../../pipeline/errors.js';
import { avroDocument, type IndexableDocument } from './avro-document.js';

/** What the sink needs to know of one domain topic. */
export interface IndexedTopic {
  /** logical domain topic, e.g. accounting.usage (the bus adds the configured prefix) */
  topic: string;
  /** kind whose dead-letter topic, dlq.<kind>, takes the records Elasticsearch refuses (the default when several kinds write the topic) */
  kind: string;
  /** every kind whose transform writes this topic, when there are several: a record's tally-kind header picks among them (see deadLetterKind) */
  kinds?: readonly string[];
  /** index base name: <prefix><base>-YYYY.MM; also names schemas/elasticsearch/<base>.template.json */
  indexBase: string;
  /**
   * records are snapshots whose time field grows with each one (cASO re-sends a running VM with
   * cumulative durations): Elasticsearch keeps the latest by that time (external_gte versioning),
   * whatever order the snapshots arrive in
   */
  versioned?: boolean;
  /** the document field whose time picks the monthly index (and becomes @timestamp in a data stream) */
  timeField: string;
  /** saved objects of schemas/kibana/<name>.ndjson that show this index, if any */
  savedObjects?: string;
  /** the Kafka value as the document to index */
  toDocument(message: Pick<IncomingMessage, 'value' | 'headers'> & { value: Buffer }): IndexableDocument;
}

interface AvroTopicEntry {
  topic: string;
  kind: string;
  kinds?: readonly string[];
  indexBase: string;
  timeField: string;
  savedObjects?: string;
  versioned?: boolean;
}

function avroTopic(entry: AvroTopicEntry): IndexedTopic {
  return { ...entry, toDocument: (message) => avroDocument(entry.topic, entry.timeField, message) };
}

/** cASO's records reach the cloud.* topics through APEL messages (its SSM queue) or as cASO JSON. */
const cloudKinds = ['apel-message', 'caso-json'] as const;

/** A cloud.* topic: measurement_time lies in the record's accounting_month, so one id always lands in the same monthly index. */
function cloudTopic(topic: string, indexBase: string): IndexedTopic {
  return avroTopic({ topic, kind: 'apel-message', kinds: cloudKinds, indexBase, timeField: 'measurement_time', savedObjects: 'cloud-usage', versioned: true });
}

/** Every domain topic the Elasticsearch sink can index. A new one is one entry here plus its .avsc and template file. */
export const indexedTopics: readonly IndexedTopic[] = [
  avroTopic({ topic: 'accounting.usage', kind: 'accounting', indexBase: 'accounting-usage', timeField: 'timestamp', savedObjects: 'accounting' }),
  cloudTopic('cloud.vm', 'cloud-vm'),
  cloudTopic('cloud.ip', 'cloud-ip'),
  cloudTopic('cloud.accelerator', 'cloud-accelerator'),
  cloudTopic('cloud.storage', 'cloud-storage'),
  cloudTopic('cloud.energy', 'cloud-energy'),
  avroTopic({ topic: 'audit.events', kind: 'openstack-audit', kinds: ['ror-audit', 'openstack-audit'], indexBase: 'audit-events', timeField: 'timestamp', savedObjects: 'audit' }),
  avroTopic({ topic: 'ops.logs', kind: 'oslo-log', indexBase: 'ops-logs', timeField: 'timestamp', savedObjects: 'ops-logs' }),
];

export function indexedTopic(topic: string): IndexedTopic {
  const found = indexedTopics.find((t) => t.topic === topic);
  if (!found) {
    throw new TallyError('CONFIG_INVALID', `sinks.elasticsearch.topics names "${topic}", which the Elasticsearch sink cannot index; it knows ${indexedTopics.map((t) => t.topic).join(', ')}`);
  }
  return found;
}

/**
 * The kind whose dead-letter topic takes a refused record: the tally-kind header the transform set,
 * when it names one of the kinds that write this topic (any other value would invent a topic),
 * else the topic's default kind.
 */
export function deadLetterKind(spec: IndexedTopic, headers: IncomingMessage['headers']): string {
  const written = headers['tally-kind']?.toString('utf8');
  return written !== undefined && spec.kinds?.includes(written) ? written : spec.kind;
}
