import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultHttpSourceConfig } from '../../connectors/sources/http/config.js';
import { startHttpSource } from '../../connectors/sources/http/server.js';
import type { SourceSummary, UpContext } from './context.js';
import { samplesDir } from './samples.js';
import { shipFiles } from './ship-files.js';

async function samples(kind: string, match: (name: string) => boolean): Promise<string[]> {
  const dir = path.join(samplesDir, kind);
  return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && match(e.name)).map((e) => path.join(dir, e.name)).sort();
}

/** A request whose story crosses the API audit middleware and nova-compute in the bundled samples. */
export const sampleRequestId = 'req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c';
/** The week of the bundled audit samples, for the 7-day actives. */
export const sampleWeek = { from: '2012-03-31', to: '2012-04-07' };

/**
 * The audit and operations samples: ROR operation logs and oslo.log files tailed by ship (their file
 * names say which ROR log and which service; rotated generations included), OpenStack audit lines
 * tailed too, and notifications and CADF events posted over http as NDJSON.
 */
export async function sendAuditSamples(context: UpContext): Promise<SourceSummary[]> {
  const ror = await shipFiles(context, 'ror', 'ror-audit', await samples('ror-audit', (name) => /\.log(\.\d+)?$/.test(name)));
  const oslo = await shipFiles(context, 'oslo', 'oslo-log', await samples('oslo-log', (name) => /\.log(\.\d+)?$/.test(name)));
  const openstack = await shipFiles(context, 'openstack', 'openstack-audit', await samples('openstack-audit', (name) => name.endsWith('.log')));
  const http = await startHttpSource({ ...defaultHttpSourceConfig, port: 0 }, { bus: context.bus, log: context.log, producer: context.producer });
  let posted = 0;
  for (const file of await samples('openstack-audit', (name) => name.endsWith('.ndjson'))) {
    const response = await fetch(`${http.url}/ingest/openstack-audit`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: await readFile(file) });
    posted += ((await response.json()) as { accepted?: number }).accepted ?? 0;
  }
  await http.close();
  return [
    { source: 'ship', detail: `${ror.sent} ROR operation-log lines (${ror.dir}: ctsec_audit_a, cmdb_audit, … and rotated generations)`, sent: ror.sent },
    { source: 'ship', detail: `${oslo.sent} oslo.log lines of nova, neutron, cinder, glance and keystone (${oslo.dir}); tracebacks are joined in the transform`, sent: oslo.sent },
    { source: 'ship', detail: `${openstack.sent} OpenStack audit lines (keystonemiddleware CADF, Nova audit) from ${openstack.dir}`, sent: openstack.sent },
    { source: 'http', detail: `${posted} oslo.messaging notifications and Keystone CADF events as NDJSON`, sent: posted },
  ];
}
