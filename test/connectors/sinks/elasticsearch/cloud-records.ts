import assert from 'node:assert/strict';
import type { Client } from '@elastic/elasticsearch';
import { serialiseDocument } from '../../../../connectors/sinks/elasticsearch/avro-document.js';
import { monthlyIndex } from '../../../../connectors/sinks/elasticsearch/index-name.js';
import { indexedTopic, type IndexedTopic } from '../../../../connectors/sinks/elasticsearch/topics.js';
import { domainCodec } from '../../../../pipeline/avro.js';
import { buildEnvelope } from '../../../../pipeline/envelope.js';
import { normaliserFor, type NormalisedRecord } from '../../../../pipeline/normalise/index.js';

/** cloud.* records made the way the transform makes them: cASO JSON or APEL messages through the real normalisers. */

export const cloudTopicNames = ['cloud.vm', 'cloud.ip', 'cloud.accelerator', 'cloud.storage', 'cloud.energy'] as const;
export const cloudTopics = (): IndexedTopic[] => cloudTopicNames.map(indexedTopic);

/** Every record of one raw message of a cloud kind; a rejection fails the test. */
export function normalised(kind: 'caso-json' | 'apel-message', message: string): NormalisedRecord[] {
  const out = normaliserFor(kind).normalise(buildEnvelope({ message, inputType: kind === 'caso-json' ? 'http' : 'apel-queue', timestamp: new Date('2024-03-21T12:00:01Z') }));
  assert.deepEqual(out.rejections, [], `${kind} refused part of ${message.slice(0, 80)}`);
  return out.records;
}

/** One cASO JSON fixture line with some keys changed: another VM, a later snapshot. */
export function casoLine(line: string, changes: Record<string, unknown>): string {
  return JSON.stringify({ ...(JSON.parse(line) as Record<string, unknown>), ...changes });
}

/** The document the sink writes for a record (Avro there and back), where, and its external version (the measurement time). */
export function cloudDocument(prefix: string, record: NormalisedRecord): { index: string; id: string; version: number; document: Record<string, unknown> } {
  const spec = indexedTopic(record.topic);
  const codec = domainCodec(record.topic);
  const headers = Object.fromEntries(Object.entries(codec.headers).map(([name, value]) => [name, Buffer.from(value)]));
  const { document, id, timeMs } = spec.toDocument({ value: codec.encode(record.value), headers });
  assert.ok(id && timeMs !== undefined && spec.versioned);
  return { index: monthlyIndex(prefix, spec.indexBase, timeMs), id, version: timeMs, document: JSON.parse(serialiseDocument(document)) as Record<string, unknown> };
}

/** Index records in one bulk request as the sink does (of an id's snapshots the latest by measurement time stays), refreshed. */
export async function bulkIndex(client: Client, prefix: string, records: NormalisedRecord[]): Promise<void> {
  const operations = records.flatMap((record) => {
    const { index, id, version, document } = cloudDocument(prefix, record);
    return [{ index: { _index: index, _id: id, version, version_type: 'external_gte' as const } }, document];
  });
  const response = await client.bulk({ operations, refresh: 'wait_for' });
  assert.deepEqual(response.items.flatMap((item) => (item.index?.error && item.index.status !== 409 ? [item.index.error] : [])), []);
}

export async function removeCloudIndices(client: Client, prefix: string): Promise<void> {
  await client.indices.delete({ index: `${prefix}*`, allow_no_indices: true, ignore_unavailable: true }).catch(() => undefined);
  for (const spec of cloudTopics()) {
    await client.indices.deleteIndexTemplate({ name: `${prefix}${spec.indexBase}` }).catch(() => undefined);
    await client.cluster.deleteComponentTemplate({ name: `${prefix}${spec.indexBase}-*` }).catch(() => undefined);
  }
}
