import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LumberjackClient } from '../../connectors/sources/beats/client.js';
import { startBeatsServer } from '../../connectors/sources/beats/server.js';
import { startFileTail } from '../../connectors/sources/file-tail/index.js';
import { defaultHttpSourceConfig } from '../../connectors/sources/http/config.js';
import { startHttpSource } from '../../connectors/sources/http/server.js';
import type { UpContext, SourceSummary } from './context.js';
import { samplePath } from './samples.js';

/**
 * The accounting samples through all three accounting sources: a Filebeat-style file (ship, with
 * the NEANIAS line filter), the valid lines as Filebeat events over lumberjack (beats), and the
 * invalid lines one request each over HTTP (malformed JSON gets 400 there; the rest reaches the
 * transform and is rejected there with its reasons).
 */
export async function sendAccountingSamples(context: UpContext): Promise<SourceSummary[]> {
  const { bus, log, producer, workDir } = context;
  const summaries: SourceSummary[] = [];

  // the same file (same inode) every run and a fresh registry: the lines go again and overwrite their records
  const shipDir = path.join(workDir, 'ship');
  await mkdir(shipDir, { recursive: true });
  const file = path.join(shipDir, 'neanias-usage.json');
  const sample = await readFile(samplePath('accounting', 'mixed.log'));
  const present = await readFile(file).catch(() => undefined);
  if (!present?.equals(sample)) await writeFile(file, sample);
  await rm(path.join(shipDir, 'registry.json'), { force: true });
  await rm(path.join(shipDir, 'registry.json.bak'), { force: true });
  const tail = await startFileTail({ paths: [path.join(shipDir, '*.json')], kind: 'accounting', registryPath: path.join(shipDir, 'registry.json'), scanIntervalMs: 100, pollIntervalMs: 20, lingerMs: 5 }, { bus, log, producer });
  const lines = (await readFile(file, 'utf8')).trim().split('\n').length;
  await waitFor(() => tail.stats().linesSent + tail.stats().linesFiltered >= lines, 30_000);
  const shipped = tail.stats();
  await tail.stop();
  summaries.push({ source: 'ship', detail: `${file}: ${shipped.linesSent} lines sent, ${shipped.linesFiltered} dropped by the NEANIAS filter ("[lL]evel": "accounting")`, sent: shipped.linesSent });

  const server = await startBeatsServer({ config: { host: '127.0.0.1', port: 0, kind: 'accounting' }, bus, log, producer });
  const client = await LumberjackClient.connect({ host: '127.0.0.1', port: server.port });
  const valid = (await readFile(samplePath('accounting', 'valid.ndjson'), 'utf8')).trim().split('\n');
  let offset = 0;
  const events = valid.map((message) => {
    const event = { '@timestamp': new Date().toISOString(), message, log: { file: { path: '/usr/share/filebeat/log_data/usage.json' }, offset }, input: { type: 'log' }, tags: ['accounting'], host: { name: 'filebeat-demo' }, agent: { type: 'filebeat', version: '8.19.0' } };
    offset += Buffer.byteLength(message) + 1;
    return event;
  });
  for (let i = 0; i < events.length; i += 10) await client.send(events.slice(i, i + 10)); // bulk_max_size: 10, as in the NEANIAS Filebeat example
  client.close();
  await server.close();
  summaries.push({ source: 'beats', detail: `${events.length} Filebeat events in windows of 10, each window acknowledged after Kafka acknowledged it`, sent: events.length });

  const http = await startHttpSource({ ...defaultHttpSourceConfig, port: 0 }, { bus, log, producer });
  const invalid = (await readFile(samplePath('accounting', 'invalid.ndjson'), 'utf8')).trim().split('\n');
  let accepted = 0;
  let refused = 0;
  for (const line of invalid) {
    const response = await fetch(`${http.url}/ingest/accounting`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: line });
    await response.arrayBuffer();
    if (response.status === 200) accepted += 1;
    else refused += 1;
  }
  await http.close();
  summaries.push({ source: 'http', detail: `${invalid.length} invalid samples, one request each: ${accepted} accepted (the transform rejects them with reasons), ${refused} answered 400 (not JSON: nothing accepted)`, sent: accepted });
  return summaries;
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
