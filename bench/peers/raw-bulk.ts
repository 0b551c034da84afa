import { readFileSync } from 'node:fs';

/**
 * The Elasticsearch sink's ceiling: a minimal `_bulk` client (node fetch, no client library). It
 * sends the bulk lines of a file (action line + document line per document, with `__PREFIX__` in
 * the index names) in requests of `docsPerBulk` documents, `concurrency` requests in flight, and
 * exits once Elasticsearch acknowledged every one without item errors.
 *   node dist/bench/peers/raw-bulk.js <bulk.ndjson> <es-url> <index-prefix> <docsPerBulk> <concurrency>
 */
const [file, url, prefix, docsPerBulkText, concurrencyText] = process.argv.slice(2);
if (!file || !url || prefix === undefined || !docsPerBulkText || !concurrencyText) throw new Error('usage: raw-bulk.js <bulk.ndjson> <es-url> <index-prefix> <docsPerBulk> <concurrency>');
const docsPerBulk = Number(docsPerBulkText);
const concurrency = Number(concurrencyText);
const lines = readFileSync(file, 'utf8').replaceAll('__PREFIX__', prefix).split('\n');
const bodies: string[] = [];
for (let i = 0; i + 1 < lines.length; i += 2 * docsPerBulk) bodies.push(`${lines.slice(i, i + 2 * docsPerBulk).join('\n')}\n`);
process.stdout.write(`bench raw-bulk ready: ${bodies.length} requests of ${docsPerBulk} documents, ${concurrency} at once\n`);

let next = 0;
let failures = 0;
async function worker(): Promise<void> {
  while (next < bodies.length) {
    const body = bodies[next++] as string;
    for (;;) {
      const response = await fetch(`${url}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      const text = await response.text();
      if (response.ok && !text.startsWith('{"errors":true')) break;
      failures += 1;
      if (failures > 50) throw new Error(`bulk failed: ${response.status} ${text.slice(0, 500)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(`bench raw-bulk done (${failures} retried requests)\n`);
