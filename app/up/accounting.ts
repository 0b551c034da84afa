import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LumberjackClient } from '../../connectors/sources/beats/client.js';
import { startBeatsServer } from '../../connectors/sources/beats/server.js';
import { defaultHttpSourceConfig } from '../../connectors/sources/http/config.js';
import { startHttpSource } from '../../connectors/sources/http/server.js';
import type { UpContext, SourceSummary } from './context.js';
import { samplePath } from './samples.js';
import { shipFiles } from './ship-files.js';

/**
 * The accounting samples through all three accounting sources: a Filebeat-style file (ship, with
 * the NEANIAS line filter), the valid lines as Filebeat events over lumberjack (beats), and the
 * invalid lines one request each over HTTP (malformed JSON gets 400 there; the rest reaches the
 * transform and is rejected there with its reasons).
 */
export async function sendAccountingSamples(context: UpContext): Promise<SourceSummary[]> {
  const { bus, log, producer } = context;
  const summaries: SourceSummary[] = [];

  const shipped = await shipFiles(context, 'ship', 'accounting', [samplePath('accounting', 'mixed.log')]);
  const file = path.join(shipped.dir, 'mixed.log');
  summaries.push({ source: 'ship', detail: `${file}: ${shipped.sent} lines sent, ${shipped.filtered} dropped by the NEANIAS filter ("[lL]evel": "accounting")`, sent: shipped.sent });

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
