import type { IncomingMessage } from '../../../pipeline/bus/types.js';
import { TallyError } from '../../../pipeline/errors.js';
import { avroDocument, type IndexableDocument } from './avro-document.js';

/** What the sink needs to know of one domain topic. */
export interface IndexedTopic {
  /** logical domain topic, e.g. accounting.usage (the bus adds the configured prefix) */
  topic: string;
  /** kind whose dead-letter topic, dlq.<kind>, takes the records Elasticsearch refuses */
  kind: string;
  /** index base name: <prefix><base>-YYYY.MM; also names schemas/elasticsearch/<base>.template.json */
  indexBase: string;
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
  indexBase: string;
  timeField: string;
  savedObjects?: string;
}

function avroTopic(entry: AvroTopicEntry): IndexedTopic {
  return { ...entry, toDocument: (message) => avroDocument(entry.topic, entry.timeField, message) };
}

/** Every domain topic the Elasticsearch sink can index. A new one is one entry here plus its .avsc and template file. */
export const indexedTopics: readonly IndexedTopic[] = [
  avroTopic({ topic: 'accounting.usage', kind: 'accounting', indexBase: 'accounting-usage', timeField: 'timestamp', savedObjects: 'accounting' }),
];

export function indexedTopic(topic: string): IndexedTopic {
  const found = indexedTopics.find((t) => t.topic === topic);
  if (!found) {
    throw new TallyError('CONFIG_INVALID', `sinks.elasticsearch.topics names "${topic}", which the Elasticsearch sink cannot index; it knows ${indexedTopics.map((t) => t.topic).join(', ')}`);
  }
  return found;
}
