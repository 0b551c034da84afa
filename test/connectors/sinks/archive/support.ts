import type { Client } from '@elastic/elasticsearch';
import { archiveIndexPattern } from '../../../../connectors/sinks/archive/setup.js';
import { levelNumbers, type LevelName } from '../../../../connectors/sinks/archive/config.js';
import type { ArchiveSection } from '../../../../connectors/sinks/archive/document.js';
import type { WindowEvent } from '../../../../connectors/sinks/archive/window.js';
import { domainCodec } from '../../../../pipeline/avro.js';
import type { Admin, Bus, OutgoingRecord } from '../../../../pipeline/bus/types.js';
import { buildEnvelope } from '../../../../pipeline/envelope.js';
import { normaliserFor } from '../../../../pipeline/normalise/index.js';
import { testBus, uniqueName } from '../../../support/world.js';

export const codec = domainCodec('ops.logs');
const normaliser = normaliserFor('oslo-log');

/** One oslo.log line to write: when, how bad, which service, which request (local id, and the global one when forwarded). */
export interface LogLine {
  atMs: number;
  level?: LevelName;
  service: string;
  request?: string;
  globalRequest?: string;
  message?: string;
}

export interface LogRecord {
  line: LogLine;
  id: string;
  key: string;
  value: Record<string, unknown>;
}

let offset = 0;

const osloTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** The line as oslo.log writes it (Zed+ context bracket), through the real normaliser, as the transform would produce it. */
export function logRecord(line: LogLine): LogRecord {
  const level = line.level ?? 'INFO';
  const bracket = line.request ? `${line.globalRequest ?? 'None'} ${line.request} 5f6e0c7d 7a8b9c0d - - default default` : '-';
  const text = `${osloTime(line.atMs)} 4242 ${level} ${line.service}.api.handler [${bracket}] ${line.message ?? `${level.toLowerCase()} on ${line.service}`}`;
  offset += 1000;
  const result = normaliser.normalise(buildEnvelope({ message: text, inputType: 'filestream', path: `/var/log/${line.service}/${line.service}-api.log`, offset }));
  const record = result.records[0];
  if (!record || result.rejections.length) throw new Error(`the normaliser refused ${text}: ${JSON.stringify(result.rejections)}`);
  return { line, id: record.id, key: record.key ?? record.id, value: record.value };
}

export function kafkaRecord(bus: Bus, record: LogRecord, partition?: number): OutgoingRecord {
  return { topic: bus.topic('ops.logs'), key: record.key, value: codec.encode(record.value), headers: { ...codec.headers, 'tally-kind': 'oslo-log' }, ...(partition !== undefined ? { partition } : {}) };
}

/** What the window sees of a record, for the oracle. */
export function windowEvent(record: LogRecord): Pick<WindowEvent, 'id' | 'timeMs' | 'levelNumber' | 'service' | 'request'> {
  return { id: record.id, timeMs: record.line.atMs, levelNumber: levelNumbers[record.line.level ?? 'INFO'], service: record.line.service, request: record.line.globalRequest ?? record.line.request ?? null };
}

export const requestId = (n: number): string => `req-${n.toString(16).padStart(8, '0')}-0000-4000-8000-${'0'.repeat(12)}`;

/** A topic prefix of its own with ops.logs (partitions) and dlq.oslo-log created. */
export async function isolatedTopics(partitions: number): Promise<{ bus: Bus; admin: Admin; prefix: string }> {
  const prefix = `${uniqueName('arch')}.`;
  const bus = testBus('kafkajs', [`kafka.topicPrefix=${prefix}`, 'kafka.commitIntervalMs=200']);
  const admin = await bus.admin();
  await admin.createTopics([{ topic: bus.topic('ops.logs'), partitions }, { topic: bus.topic('dlq.oslo-log') }]);
  return { bus, admin, prefix };
}

export interface ArchivedDocument {
  index: string;
  id: string;
  version: number;
  source: Record<string, unknown> & { archive: ArchiveSection };
}

export async function archivedDocuments(client: Client, indexPrefix: string): Promise<ArchivedDocument[]> {
  const pattern = archiveIndexPattern(indexPrefix);
  await client.indices.refresh({ index: pattern, allow_no_indices: true, ignore_unavailable: true });
  const response = await client.search({ index: pattern, size: 10_000, version: true, query: { match_all: {} }, allow_no_indices: true, ignore_unavailable: true });
  return response.hits.hits.map((hit) => ({ index: hit._index, id: hit._id as string, version: hit._version as number, source: hit._source as ArchivedDocument['source'] }));
}

export async function removeArchive(client: Client, indexPrefix: string): Promise<void> {
  await client.indices.delete({ index: `${indexPrefix}*`, allow_no_indices: true, ignore_unavailable: true }).catch(() => undefined);
  await client.indices.deleteIndexTemplate({ name: `${indexPrefix}ops-archive` }).catch(() => undefined);
  await client.cluster.deleteComponentTemplate({ name: `${indexPrefix}ops-archive-*` }).catch(() => undefined);
}
