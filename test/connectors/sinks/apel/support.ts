import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SaxesParser } from 'saxes';
import { starNamespace } from '../../../../connectors/sinks/apel/render/star-xml.js';
import type { Admin, Bus, OutgoingRecord } from '../../../../pipeline/bus/types.js';
import type { KafkaBackendName } from '../../../../pipeline/config/types.js';
import { eventually, testBus, uniqueName } from '../../../support/world.js';
import type { DirqElement } from '../../../interop/apel/tools.js';
import { avroValue, derived, encode } from './avro.js';

export const cloudTopicNames = ['cloud.vm', 'cloud.ip', 'cloud.accelerator', 'cloud.storage', 'cloud.energy'] as const;

/** A bus whose topics no other test shares, with the cloud topics and both dead-letter topics created. */
export async function isolatedBus(partitions = 3, backend: KafkaBackendName = 'kafkajs'): Promise<{ bus: Bus; admin: Admin; prefix: string }> {
  const prefix = `${uniqueName('sa')}.`;
  const bus = testBus(backend, [`kafka.topicPrefix=${prefix}`]);
  const admin = await bus.admin();
  await admin.createTopics([...cloudTopicNames.map((t) => ({ topic: bus.topic(t), partitions })), { topic: bus.topic('dlq.apel-message') }, { topic: bus.topic('dlq.caso-json') }]);
  return { bus, admin, prefix };
}

const dirs: string[] = [];
process.once('exit', () => {
  if (process.env.TALLY_TEST_KEEP_FILES) return;
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export async function tempQueue(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-apel-sink-'));
  dirs.push(dir);
  return path.join(dir, 'outgoing');
}

type Topic = keyof typeof derived;

/** A Kafka record of a cloud topic as the transform writes it (Avro value, record id as key, tally-kind header). */
export function domainRecord(bus: Bus, topic: Topic, record: object, kind = 'apel-message'): OutgoingRecord {
  const given = record as Record<string, unknown>;
  const extra = derived[topic](given);
  return { topic: bus.topic(topic), key: extra.id, value: encode(topic, avroValue(topic, given, extra)), headers: { 'tally-kind': kind } };
}

/** Waits until the group has committed everything on these topics. */
export async function committed(admin: Admin, groupId: string, topics: string[], timeoutMs = 60_000): Promise<void> {
  await eventually(`group ${groupId} committed everything`, timeoutMs, async () => {
    for (const topic of topics) {
      const offsets = await admin.groupOffsets(groupId, topic);
      if (offsets.some((o) => o.lag !== 0 && Number(o.end) > 0)) return undefined;
    }
    return true;
  });
}

export interface ParsedMessage {
  type: 'cloud' | 'ip' | 'accelerator' | 'storage';
  /** cloud: key → value per record; JSON: the UsageRecords; StAR: the record XML */
  records: unknown[];
}

/**
 * One queue element checked against the rules APEL's loader and ssmsend impose (apel-ssm.md §1),
 * then split into its records.
 */
export function checkMessage(element: DirqElement, maxRecords: number, maxBytes: number): ParsedMessage {
  assert.ok(element.ascii, `${element.name}: ssmsend decodes it as ASCII`);
  assert.ok(element.body.length <= maxBytes, `${element.name}: ${element.body.length} bytes, over ${maxBytes}`);
  const text = element.body.toString('latin1');
  if (text.startsWith('APEL-cloud-message: v0.4\n')) {
    assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'), `${element.name}: one final newline`);
    const records = text
      .slice('APEL-cloud-message: v0.4\n'.length, -1)
      .split('\n%%\n')
      .map((chunk) => {
        const lines = chunk.split('\n');
        for (const line of lines) assert.match(line, /^[A-Za-z]+: [^\s].*$/, `${element.name}: "${line}" is one Key: Value line`);
        assert.ok(!chunk.includes('%%'), `${element.name}: no %% inside a record`);
        const keys = lines.map((l) => l.slice(0, l.indexOf(':')));
        assert.deepEqual(keys, [...keys].sort(), `${element.name}: keys sorted`);
        return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      });
    assert.ok(records.length <= maxRecords);
    return { type: 'cloud', records };
  }
  if (text.startsWith('{')) {
    const json = JSON.parse(text) as { Type: string; Version: string; UsageRecords: unknown[] };
    assert.ok(json.UsageRecords.length >= 1 && json.UsageRecords.length <= maxRecords);
    if (json.Type === 'APEL Public IP message') {
      assert.equal(json.Version, '0.2');
      return { type: 'ip', records: json.UsageRecords };
    }
    assert.equal(json.Type, 'APEL-accelerator-message');
    assert.equal(json.Version, '0.1');
    return { type: 'accelerator', records: json.UsageRecords };
  }
  assert.ok(text.startsWith(`<sr:StorageUsageRecords xmlns:sr="${starNamespace}">`), `${element.name}: a StAR document with nothing before its root`);
  const parser = new SaxesParser({ xmlns: true });
  const records: string[] = [];
  parser.on('opentag', (tag) => {
    assert.equal(tag.uri, starNamespace, `${element.name}: <${tag.name}> in the storagerecord namespace`);
    for (const attribute of Object.values(tag.attributes)) if (attribute.prefix !== 'xmlns') assert.equal(attribute.uri, starNamespace, `${element.name}: attribute ${attribute.name} in the namespace`);
    if (tag.local === 'StorageUsageRecord') records.push('');
  });
  parser.on('error', (error) => assert.fail(`${element.name}: not well-formed XML: ${error.message}`));
  parser.write(text).close();
  assert.ok(records.length >= 1 && records.length <= maxRecords);
  return { type: 'storage', records: text.split('<sr:StorageUsageRecord>').slice(1).map((r) => `<sr:StorageUsageRecord>${r.replace('</sr:StorageUsageRecords>', '')}`) };
}
