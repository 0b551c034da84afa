import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { readTopicToEnd } from '../../pipeline/bus/read-topic.js';
import { normaliserFor } from '../../pipeline/normalise/index.js';
import { transformMessage } from '../../pipeline/transform/transform-message.js';
import type { KnownInput } from './input.js';
import { groupTopics, type FaultPipeline } from './pipeline.js';

/** What the sinks hold against what the input says they must. */
export interface Outcome {
  /** expected accounting documents or VMs absent from Elasticsearch, or there with other content */
  esMissing: string[];
  esWrong: string[];
  /** ids held more than once (or not in the input at all) */
  esDoubled: string[];
  esExtra: string[];
  /** VMs absent from the APEL queue, or whose last message holding them carries an older snapshot */
  apelMissing: string[];
  apelStale: string[];
  /** domain records (read_committed) more often than their raw lines, or less */
  domainDoubled: string[];
  domainMissing: string[];
  lag: number;
}

interface AccountingDoc {
  resource?: string;
  value?: number;
  userid?: string;
  serviceid?: string;
  duration_ms?: number;
}

interface VmDoc {
  vm_uuid?: string;
  wall_duration_seconds?: number;
  cpu_duration_seconds?: number;
}

async function allDocs<T>(pipeline: FaultPipeline, index: string, fields: string[]): Promise<T[]> {
  await pipeline.es.indices.refresh({ index, allow_no_indices: true, ignore_unavailable: true });
  const docs: T[] = [];
  let page = await pipeline.es.search<T>({ index, allow_no_indices: true, ignore_unavailable: true, size: 10_000, _source: fields, scroll: '60s' });
  try {
    while (page.hits.hits.length > 0) {
      for (const hit of page.hits.hits) if (hit._source) docs.push(hit._source);
      if (!page._scroll_id) break;
      page = await pipeline.es.scroll<T>({ scroll_id: page._scroll_id, scroll: '60s' });
    }
  } finally {
    if (page._scroll_id) await pipeline.es.clearScroll({ scroll_id: page._scroll_id }).catch(() => undefined);
  }
  return docs;
}

export async function indexCounts(pipeline: FaultPipeline): Promise<{ accounting: number; vms: number }> {
  const count = async (base: string) => {
    const index = `${pipeline.world.indexPrefix}${base}-*`;
    await pipeline.es.indices.refresh({ index, allow_no_indices: true, ignore_unavailable: true });
    return (await pipeline.es.count({ index, allow_no_indices: true, ignore_unavailable: true })).count;
  };
  return { accounting: await count('accounting-usage'), vms: await count('cloud-vm') };
}

/** Total lag of every group over its topics (offsets not yet committed). */
export async function totalLag(pipeline: FaultPipeline): Promise<number> {
  const admin = await pipeline.kafkaAdmin();
  let lag = 0;
  for (const [stage, topics] of Object.entries(groupTopics) as [keyof typeof groupTopics, readonly string[]][]) {
    for (const topic of topics) {
      const offsets = await admin.groupOffsets(pipeline.groups[stage], pipeline.bus.topic(topic));
      for (const o of offsets) lag += Number(o.end) - (o.committed === '-1' ? 0 : Number(o.committed));
    }
  }
  return lag;
}

/** The raw topics hold at least every line written (ship has sent everything). */
export async function rawComplete(pipeline: FaultPipeline, input: KnownInput): Promise<boolean> {
  const admin = await pipeline.kafkaAdmin();
  const size = async (topic: string) => (await admin.groupOffsets('faults-nobody', pipeline.bus.topic(topic))).reduce((sum, o) => sum + Number(o.end), 0);
  return (await size('raw.accounting')) >= input.accountingLines && (await size('raw.caso-json')) >= input.casoLines;
}

/** The records of APEL cloud messages in queue order: [VMUUID, WallDuration, CpuDuration] per record. */
export async function apelRecords(dir: string): Promise<{ uuid: string; wall: number; cpu: number }[]> {
  let folders: string[];
  try {
    folders = (await readdir(dir)).filter((name) => /^[0-9a-f]{8}$/.test(name)).sort();
  } catch {
    return [];
  }
  const records: { uuid: string; wall: number; cpu: number }[] = [];
  for (const folder of folders) {
    const names = (await readdir(path.join(dir, folder))).filter((name) => /^[0-9a-f]{14}$/.test(name)).sort();
    for (const name of names) {
      const body = await readFile(path.join(dir, folder, name), 'utf8');
      if (!body.startsWith('APEL-cloud-message')) continue;
      for (const chunk of body.split(/^%%$/m)) {
        const fields = new Map(chunk.split('\n').filter((l) => l.includes(': ')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
        const uuid = fields.get('VMUUID');
        if (uuid) records.push({ uuid, wall: Number(fields.get('WallDuration')), cpu: Number(fields.get('CpuDuration')) });
      }
    }
  }
  return records;
}

export async function apelLatest(dir: string): Promise<Map<string, { wall: number; cpu: number }>> {
  const latest = new Map<string, { wall: number; cpu: number }>();
  for (const r of await apelRecords(dir)) latest.set(r.uuid, { wall: r.wall, cpu: r.cpu });
  return latest;
}

/** Everything expected is visible: ES counts reached, APEL has every VM at its latest snapshot. */
export async function allVisible(pipeline: FaultPipeline, input: KnownInput): Promise<boolean> {
  const counts = await indexCounts(pipeline);
  if (counts.accounting < input.accounting.size || counts.vms < input.vms.size) return false;
  const latest = await apelLatest(pipeline.apelDir);
  for (const vm of input.vms.values()) if (latest.get(vm.uuid)?.wall !== vm.wall) return false;
  const es = await allDocs<VmDoc>(pipeline, `${pipeline.world.indexPrefix}cloud-vm-*`, ['vm_uuid', 'wall_duration_seconds']);
  const walls = new Map(es.map((d) => [d.vm_uuid, d.wall_duration_seconds]));
  for (const vm of input.vms.values()) if (walls.get(vm.uuid) !== vm.wall) return false;
  return true;
}

export async function checkOutcome(pipeline: FaultPipeline, input: KnownInput): Promise<Outcome> {
  const domain = await checkDomainOnce(pipeline);
  const outcome: Outcome = { esMissing: [], esWrong: [], esDoubled: [], esExtra: [], apelMissing: [], apelStale: [], domainDoubled: domain.doubled, domainMissing: domain.missing, lag: await totalLag(pipeline) };
  const accounting = await allDocs<AccountingDoc>(pipeline, `${pipeline.world.indexPrefix}accounting-usage-*`, ['resource', 'value', 'userid', 'serviceid', 'duration_ms']);
  const seen = new Map<string, AccountingDoc[]>();
  for (const doc of accounting) seen.set(doc.resource ?? '?', [...(seen.get(doc.resource ?? '?') ?? []), doc]);
  for (const [resource, expected] of input.accounting) {
    const docs = seen.get(resource);
    if (!docs) outcome.esMissing.push(resource);
    else if (!docs.some((d) => d.value === expected.value && d.userid === expected.userid && d.serviceid === expected.serviceid && d.duration_ms === expected.duration_ms)) outcome.esWrong.push(resource);
    if (docs && docs.length > 1) outcome.esDoubled.push(resource);
  }
  for (const resource of seen.keys()) if (!input.accounting.has(resource)) outcome.esExtra.push(resource);

  const vms = await allDocs<VmDoc>(pipeline, `${pipeline.world.indexPrefix}cloud-vm-*`, ['vm_uuid', 'wall_duration_seconds', 'cpu_duration_seconds']);
  const vmSeen = new Map<string, VmDoc[]>();
  for (const doc of vms) vmSeen.set(doc.vm_uuid ?? '?', [...(vmSeen.get(doc.vm_uuid ?? '?') ?? []), doc]);
  for (const [uuid, expected] of input.vms) {
    const docs = vmSeen.get(uuid);
    if (!docs) outcome.esMissing.push(uuid);
    else if (!docs.some((d) => d.wall_duration_seconds === expected.wall && d.cpu_duration_seconds === expected.cpu)) outcome.esWrong.push(`${uuid} (wall ${docs.map((d) => d.wall_duration_seconds).join(',')} instead of ${expected.wall})`);
    if (docs && docs.length > 1) outcome.esDoubled.push(uuid);
  }
  for (const uuid of vmSeen.keys()) if (!input.vms.has(uuid)) outcome.esExtra.push(uuid);

  const latest = await apelLatest(pipeline.apelDir);
  for (const [uuid, expected] of input.vms) {
    const last = latest.get(uuid);
    if (!last) outcome.apelMissing.push(uuid);
    else if (last.wall !== expected.wall || last.cpu !== expected.cpu) outcome.apelStale.push(`${uuid} (wall ${last.wall} instead of ${expected.wall})`);
  }
  return outcome;
}

/** The dead letters: how many of the deliberately invalid lines are there, and what else is (read committed: the transform writes them in its transactions). */
export async function checkDeadLetters(pipeline: FaultPipeline, input: KnownInput): Promise<{ letters: number; invalidFound: number; invalidMissing: number; valid: string[] }> {
  const messages: string[] = [];
  const valid: string[] = [];
  let letters = 0;
  for (const topic of ['dlq.accounting', 'dlq.caso-json'].map((t) => pipeline.bus.topic(t))) {
    letters += await readTopicToEnd(pipeline.bus, topic, (message) => {
      const letter = JSON.parse(message.value?.toString('utf8') ?? '{}') as { stage?: string; original?: { data?: string } };
      let text = letter.original?.data ?? '';
      try {
        text = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        /* the original is not an envelope: a sink dead-lettered a normalised record */
      }
      if (letter.stage === 'transform' && input.invalid.has(text)) messages.push(text);
      else valid.push(`${letter.stage}: ${text.slice(0, 120)}`);
    }, { timeoutMs: 120_000 });
  }
  const found = new Set(messages);
  return { letters, invalidFound: found.size, invalidMissing: input.invalid.size - found.size, valid };
}

/**
 * Exactly-once in the domain topics: read with read_committed, each record appears as many times
 * as the raw topics hold the line it comes from (once, unless a source sent a line twice: raw
 * topics are at-least-once). The expectation is the transform's own pure code run on every raw
 * message; a record is counted by topic and record id (a VM's snapshots share an id).
 */
export async function checkDomainOnce(pipeline: FaultPipeline): Promise<{ records: number; doubled: string[]; missing: string[] }> {
  const expected = new Map<string, number>();
  for (const kind of ['accounting', 'caso-json']) {
    const normaliser = normaliserFor(kind);
    await readTopicToEnd(pipeline.bus, pipeline.bus.topic(`raw.${kind}`), (message) => {
      for (const record of transformMessage(message, kind, normaliser, pipeline.bus.topic).records) {
        const id = `${record.topic} ${String(record.key)}`;
        expected.set(id, (expected.get(id) ?? 0) + 1);
      }
    }, { timeoutMs: 120_000 });
  }
  const seen = new Map<string, number>();
  let records = 0;
  for (const topic of new Set([...expected.keys()].map((id) => id.slice(0, id.indexOf(' '))))) {
    records += await readTopicToEnd(pipeline.bus, topic, (message) => {
      const id = `${topic} ${message.key?.toString('utf8') ?? ''}`;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }, { timeoutMs: 120_000 });
  }
  const doubled: string[] = [];
  const missing: string[] = [];
  for (const [id, count] of seen) if (count > (expected.get(id) ?? 0)) doubled.push(`${id} ×${count} (expected ${expected.get(id) ?? 0})`);
  for (const [id, count] of expected) if ((seen.get(id) ?? 0) < count) missing.push(`${id} ×${seen.get(id) ?? 0} (expected ${count})`);
  return { records, doubled, missing };
}

/** How much the faults made the pipeline repeat: evidence a fault hit work in flight. */
export async function replayFigures(pipeline: FaultPipeline, input: KnownInput): Promise<string> {
  const admin = await pipeline.kafkaAdmin();
  const size = async (topic: string) => (await admin.groupOffsets('faults-nobody', pipeline.bus.topic(topic))).reduce((sum, o) => sum + Number(o.end), 0);
  const raw = (await size('raw.accounting')) + (await size('raw.caso-json'));
  const domain = (await size('accounting.usage')) + (await size('cloud.vm'));
  const apel = await apelRecords(pipeline.apelDir);
  const snapshots = new Set(apel.map((r) => `${r.uuid}/${r.wall}`));
  const index = `${pipeline.world.indexPrefix}accounting-usage-*`;
  const stats = await pipeline.es.indices.stats({ index, metric: 'indexing' });
  const indexed = stats._all.primaries?.indexing?.index_total ?? 0;
  return `replays: raw topics hold ${raw - input.accountingLines - input.casoLines} lines more than written, domain topics ${domain - input.accounting.size - input.snapshotLines} offsets more than normalised once (with exactly-once, one commit marker per partition a transaction wrote); Elasticsearch indexed accounting documents ${indexed} times for ${input.accounting.size} documents (since the node last started); the APEL queue holds ${apel.length - snapshots.size} repeated snapshots`;
}
