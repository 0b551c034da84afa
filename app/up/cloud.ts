import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { QueueSimpleWriter } from '../../connectors/dirq/queue-simple.js';
import { startApelQueueSource } from '../../connectors/sources/apel-queue/source.js';
import { defaultHttpSourceConfig } from '../../connectors/sources/http/config.js';
import { startHttpSource } from '../../connectors/sources/http/server.js';
import type { SourceSummary, UpContext } from './context.js';
import { samplePath } from './samples.js';

/** The cASO messages, as cASO's SSM messenger leaves them, in the queue `tally apel-queue` reads. */
const queuedSamples = ['cloud-v0.4.txt', 'cloud-v0.4-second-run.txt', 'cloud-v0.2.txt', 'cloud-bad-record.txt', 'ip.json', 'accelerator.json', 'storage.xml'];

export const casoQueueDir = (workDir: string): string => path.join(workDir, 'caso-outgoing');
export const apelOutgoingDir = (workDir: string): string => path.join(workDir, 'apel-outgoing');

/**
 * The cASO samples the way a site hands them over: APEL messages in an SSM outgoing queue (read by
 * apel-queue, each element removed once Kafka acknowledged it) and cASO's energy records, which its
 * SSM messenger refuses, as cASO JSON over HTTP.
 */
export async function sendCloudSamples(context: UpContext): Promise<SourceSummary[]> {
  const { bus, log, producer, workDir } = context;
  const queue = casoQueueDir(workDir);
  await rm(queue, { recursive: true, force: true });
  const writer = new QueueSimpleWriter(queue, { granularitySeconds: 60, fileMode: 0o664, directoryMode: 0o775 });
  await writer.add(await Promise.all(queuedSamples.map((name) => readFile(samplePath('apel-message', name)))));
  const source = await startApelQueueSource({ path: queue, pollIntervalMs: 50 }, { bus, log });
  const deadline = Date.now() + 30_000;
  while (source.stats().elements + source.stats().deadLettered < queuedSamples.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const queued = source.stats();
  await source.stop();

  const http = await startHttpSource({ ...defaultHttpSourceConfig, port: 0 }, { bus, log, producer });
  const energy = await readFile(samplePath('caso-json', 'energy.ndjson'));
  const response = await fetch(`${http.url}/ingest/caso-json`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: energy });
  const answer = (await response.json()) as { accepted?: number };
  await http.close();
  return [
    { source: 'apel-queue', detail: `${queued.elements} APEL messages read from the dirq queue ${queue} (each removed only after Kafka acknowledged it)`, sent: queued.elements },
    { source: 'http', detail: `${answer.accepted ?? 0} cASO energy records as caso-json (cASO's SSM messenger cannot send them)`, sent: answer.accepted ?? 0 },
  ];
}

/** The messages `tally sink apel` left in the outgoing queue ssmsend reads, by APEL message type. */
export async function describeOutgoing(dir: string): Promise<{ messages: number; byHeader: Map<string, number> }> {
  const byHeader = new Map<string, number>();
  let messages = 0;
  const subdirs = await readdir(dir).catch(() => [] as string[]);
  for (const sub of subdirs.filter((name) => /^[0-9a-f]{8}$/.test(name))) {
    for (const name of (await readdir(path.join(dir, sub))).filter((n) => /^[0-9a-f]{14}$/.test(n))) {
      const body = await readFile(path.join(dir, sub, name), 'utf8');
      messages += 1;
      const header = body.startsWith('APEL-cloud-message') ? body.split('\n')[0] ?? 'cloud' : body.includes('StorageUsageRecords') ? 'StAR storage (XML)' : (/"Type":\s*"([^"]+)"/.exec(body)?.[1] ?? 'JSON');
      byHeader.set(header, (byHeader.get(header) ?? 0) + 1);
    }
  }
  return { messages, byHeader };
}
