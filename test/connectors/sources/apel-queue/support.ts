import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Admin, Bus, IncomingMessage } from '../../../../pipeline/bus/types.js';
import type { KafkaBackendName } from '../../../../pipeline/config/types.js';
import type { RawEnvelope } from '../../../../pipeline/envelope.js';
import { eventually, testBus, uniqueName } from '../../../support/world.js';

/** A bus whose topics no other test shares, with raw.apel-message and dlq.apel-message created. */
export async function isolatedBus(backend: KafkaBackendName = 'kafkajs', configs: { raw?: Record<string, string>; dlq?: Record<string, string> } = {}): Promise<{ bus: Bus; admin: Admin; raw: string; dlq: string; prefix: string }> {
  const prefix = `${uniqueName(`aq-${backend}`)}.`;
  const bus = testBus(backend, [`kafka.topicPrefix=${prefix}`]);
  const admin = await bus.admin();
  const raw = bus.topic('raw.apel-message');
  const dlq = bus.topic('dlq.apel-message');
  await admin.createTopics([
    { topic: raw, partitions: 3, ...(configs.raw ? { configs: configs.raw } : {}) },
    { topic: dlq, partitions: 1, ...(configs.dlq ? { configs: configs.dlq } : {}) },
  ]);
  return { bus, admin, raw, dlq, prefix };
}

const dirs: string[] = [];
process.once('exit', () => {
  if (process.env.TALLY_TEST_KEEP_FILES) return;
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory (removed at exit) and the queue path inside it. */
export async function tempQueue(): Promise<{ dir: string; queue: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-apel-queue-'));
  dirs.push(dir);
  return { dir, queue: path.join(dir, 'outgoing', 'openstack') };
}

export async function topicCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.groupOffsets('tally-test-count-nobody', topic);
  return offsets.reduce((sum, p) => sum + Number(p.end), 0);
}

/** Every record of the topic once it holds at least `atLeast`. */
export async function readAll(bus: Bus, admin: Admin, topic: string, atLeast: number, timeoutMs = 60_000): Promise<IncomingMessage[]> {
  await eventually(`${atLeast} records in ${topic}`, timeoutMs, async () => ((await topicCount(admin, topic)) >= atLeast ? true : undefined));
  const total = await topicCount(admin, topic);
  const seen: IncomingMessage[] = [];
  const consumer = await bus.consumer({ groupId: uniqueName('aq-read'), topics: [topic], fromBeginning: true, commitIntervalMs: 60_000 });
  try {
    await consumer.run((messages) => {
      for (const m of messages) {
        seen.push(m);
        consumer.done(m);
      }
    });
    await eventually(`${total} records read from ${topic}`, timeoutMs, () => (seen.length >= total ? true : undefined));
  } finally {
    await consumer.close({ commit: false });
  }
  return seen;
}

export const envelopeOf = (m: IncomingMessage): RawEnvelope => JSON.parse(m.value?.toString('utf8') ?? 'null') as RawEnvelope;

/** A small cloud message with a number to find it by. */
export const cloudMessage = (n: number): string => `APEL-cloud-message: v0.4\nSiteName: TEST-Site\nVMUUID: vm-${String(n).padStart(6, '0')}\n`;

export const numberOf = (message: string): number => Number(/VMUUID: vm-(\d+)/.exec(message)?.[1] ?? Number.NaN);

/** Fast polling for tests. */
export const quick = { pollIntervalMs: 50, purgeIntervalMs: 0, retryInitialMs: 50, retryMaxMs: 200 };
