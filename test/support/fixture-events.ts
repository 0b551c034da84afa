import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { monthlyIndex } from '../../connectors/sinks/elasticsearch/index-name.js';
import { installIndexTemplates } from '../../connectors/sinks/elasticsearch/setup.js';
import { indexedTopic } from '../../connectors/sinks/elasticsearch/topics.js';
import { domainCodec, toJsonDocument } from '../../pipeline/avro.js';
import { buildEnvelope, type RawEnvelope } from '../../pipeline/envelope.js';
import { normaliserFor, type NormalisedRecord } from '../../pipeline/normalise/index.js';
import { streamKeyOf } from '../../pipeline/normalise/oslo/join.js';
import { projectRoot } from '../../pipeline/paths.js';

/**
 * Audit-path events made the way the pipeline makes them: fixture lines (or a test's own lines) in
 * file envelopes, oslo.log lines through the transform's traceback joiner, then the kind's real
 * normaliser, then an Avro round trip. Indexed under a test's own prefix with the real templates.
 */

export type AuditPathKind = 'ror-audit' | 'openstack-audit' | 'oslo-log';
export const auditPathKinds: readonly AuditPathKind[] = ['ror-audit', 'openstack-audit', 'oslo-log'];

/** The envelope's time: journald lines without a year take theirs from it. */
const shippedAt = new Date('2026-12-01T00:00:00Z');

/** One file's lines in their file envelopes, with byte offsets. */
function envelopes(filePath: string, text: string): RawEnvelope[] {
  const result: RawEnvelope[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    if (line.trim() !== '') result.push(buildEnvelope({ message: line, inputType: 'filestream', path: filePath, offset, timestamp: shippedAt }));
    offset += Buffer.byteLength(line) + 1;
  }
  return result;
}

/** Normalise files of one kind as the transform does; every line must be accepted. */
export function eventsOf(kind: AuditPathKind, files: { path: string; text: string }[]): NormalisedRecord[] {
  const normaliser = normaliserFor(kind);
  const joiner = normaliser.createJoiner?.();
  const joined: RawEnvelope[] = [];
  let position = 0;
  for (const file of files) {
    for (const envelope of envelopes(file.path, file.text)) {
      if (!joiner) joined.push(envelope);
      else joined.push(...joiner.push(streamKeyOf(envelope), envelope, { topic: `raw.${kind}`, partition: 0, offset: position }).map((e) => e.envelope));
      position += 1;
    }
  }
  if (joiner) joined.push(...joiner.flushAll().map((e) => e.envelope));
  return joined.flatMap((envelope) => {
    const { records, rejections } = normaliser.normalise(envelope);
    if (rejections.length > 0) throw new Error(`${kind} rejected ${envelope.log?.file?.path}@${envelope.log?.offset}: ${JSON.stringify(rejections[0]?.reasons)}`);
    return records.map((record) => {
      const codec = domainCodec(record.topic);
      return { ...record, value: codec.decode(codec.encode(record.value)) };
    });
  });
}

/** Every valid fixture of a kind (test/fixtures/<kind>, not invalid/), rotated generations before the live file. */
export function fixtureEvents(kind: AuditPathKind): NormalisedRecord[] {
  const dir = path.join(projectRoot, 'test/fixtures', kind);
  const generation = (name: string): number => Number(/\.(\d+)$/.exec(name)?.[1] ?? 0);
  const names = readdirSync(dir)
    .filter((name) => statSync(path.join(dir, name)).isFile())
    .sort((a, b) => a.replace(/\.\d+$/, '').localeCompare(b.replace(/\.\d+$/, '')) || generation(b) - generation(a));
  return eventsOf(
    kind,
    names.map((name) => ({ path: `test/fixtures/${kind}/${name}`, text: readFileSync(path.join(dir, name), 'utf8') })),
  );
}

/** The document the Elasticsearch sink writes for a record (times as ISO 8601, nulls left out). */
export function documentOf(record: NormalisedRecord): Record<string, unknown> {
  return JSON.parse(JSON.stringify(toJsonDocument(domainCodec(record.topic), record.value))) as Record<string, unknown>;
}

const topics = [indexedTopic('audit.events'), indexedTopic('ops.logs')];

/** Install both templates under the prefix and index the records into their monthly indices, refreshed. */
export async function indexEvents(client: Client, prefix: string, records: NormalisedRecord[]): Promise<void> {
  await installIndexTemplates(client, { prefix, layout: 'monthly', topics });
  const operations = records.flatMap((record) => {
    const spec = indexedTopic(record.topic);
    return [{ index: { _index: monthlyIndex(prefix, spec.indexBase, record.value.timestamp as number), _id: record.id } }, documentOf(record)];
  });
  for (let i = 0; i < operations.length; i += 1000) {
    const response = await client.bulk({ operations: operations.slice(i, i + 1000), refresh: 'wait_for' });
    if (response.errors) throw new Error(`bulk refused: ${JSON.stringify(response.items.find((item) => item.index?.error)?.index?.error)}`);
  }
}

/** Remove the indices and templates indexEvents made. */
export async function dropEvents(client: Client, prefix: string): Promise<void> {
  await client.indices.delete({ index: `${prefix}*` }).catch(() => undefined);
  for (const base of ['audit-events', 'ops-logs']) {
    await client.indices.deleteIndexTemplate({ name: `${prefix}${base}` }).catch(() => undefined);
    await client.cluster.deleteComponentTemplate({ name: `${prefix}${base}-*` }).catch(() => undefined);
  }
}
