import type { Client } from '@elastic/elasticsearch';
import type { EsCapabilities } from '../../../pipeline/elasticsearch/capabilities.js';
import { avroDocument } from '../elasticsearch/avro-document.js';
import { indexPattern } from '../elasticsearch/index-name.js';
import { installIndexTemplates, type TemplateInstall } from '../elasticsearch/setup.js';
import type { IndexedTopic } from '../elasticsearch/topics.js';
import { archivedTopic } from './event.js';

/** <prefix>ops-archive-YYYY.MM by the event's own month; also names schemas/elasticsearch/ops-archive.template.json */
export const archiveIndexBase = 'ops-archive';

/**
 * The archive as an index family of the Elasticsearch sink, so its template install and bulk
 * writing serve it too. Refused documents go to dlq.oslo-log, like refused ops.logs records.
 */
export const archiveIndex: IndexedTopic = {
  topic: archivedTopic,
  kind: 'oslo-log',
  indexBase: archiveIndexBase,
  timeField: 'timestamp',
  toDocument: (message) => avroDocument(archivedTopic, 'timestamp', message),
};

export const archiveIndexPattern = (prefix: string): string => indexPattern(prefix, archiveIndexBase);

/**
 * Install the archive's templates. Always the monthly layout: an archived event's document is
 * rewritten when a later run adds a trigger to it, which a create-only data stream cannot do.
 */
export function installArchiveTemplate(client: Client, prefix: string, capabilities?: EsCapabilities): Promise<TemplateInstall> {
  return installIndexTemplates(client, { prefix, layout: 'monthly', topics: [archiveIndex], ...(capabilities ? { capabilities } : {}) });
}
