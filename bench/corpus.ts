import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SeededRandom } from './random.js';

/**
 * Fixed corpora, generated from a seed: the same bytes on every run and machine, so every tool in a
 * case reads exactly the same input. Accounting lines follow test/fixtures/accounting/valid.ndjson
 * (the NEANIAS model) at ~300 B; all fall in one month (2026-11), so they index into one monthly
 * index and every tool, Tally's sink and the raw _bulk alike, writes to the same single index.
 */
export const corpusSeed = 20_261_101;

const services = ['neanias-atmo-flud', 'neanias-atmo-stress', 'neanias-atmo-seism', 'neanias-uw-bat', 'neanias-uw-mos', 'neanias-space-vis', 'neanias-space-ml', 'neanias-c3dp'];
const actions = ['run-simulation', 'store-results', 'compute-stress-map', 'download', 'process-bathymetry', 'render-tiles', 'train-model', 'upload-dataset'];
const users = ['maria.papadopoulou@athenarc.gr', 'j.kowalski@cyfronet.pl', 'a.rossi@inaf.it', 'k.nowak@cyfronet.pl', 'e.garcia@cesga.es', 'l.dubois@cnrs.fr'];
const comments = ['OpenFOAM urban wind case, 64 cores', 'nightly re-run after data refresh', 'priority queue', 'batch from the portal', 'retry of failed job', null, null, null];

function iso(ms: number, fractionDigits: number): string {
  const text = new Date(ms).toISOString(); // 2026-11-05T10:23:11.123Z
  if (fractionDigits === 0) return `${text.slice(0, 19)}Z`;
  return `${text.slice(0, 23)}${'0'.repeat(Math.max(0, fractionDigits - 3))}Z`;
}

const monthStart = Date.UTC(2026, 10, 1);
const monthMs = 29 * 24 * 3600 * 1000;

/** One accounting line; `value` may be forced (the end-to-end case puts the sequence number there). */
export function accountingLine(random: SeededRandom, value?: number): string {
  const end = monthStart + Math.floor(random.next() * monthMs);
  const serviceIndex = random.int(0, services.length - 1);
  const measure = random.pick(['time', 'information', 'throughput', 'unit', 'time', 'time']);
  const entry: Record<string, unknown> = {
    timestamp: iso(end + random.int(0, 2000), random.pick([0, 3, 7])),
    serviceid: services[serviceIndex],
    level: 'accounting',
    userid: random.chance(0.5) ? random.uuid() : random.pick(users),
  };
  if (random.chance(0.2)) entry.userdelegate = `svc-${services[serviceIndex]}@neanias.eu`;
  entry.resource = `${random.pick(['job', 'dataset', 'storage'])}/${services[serviceIndex]?.slice(8)}-${random.int(1, 99_999)}`;
  entry.action = random.pick(actions);
  if (measure === 'time') {
    const duration = random.int(1000, 5_000_000);
    entry.starttime = iso(end - duration, 0);
    entry.endtime = iso(end, 0);
    entry.value = value ?? duration;
  } else {
    entry.value = value ?? Math.round(random.next() * 1_000_000) / 100;
  }
  entry.measure = measure;
  entry.type = random.pick(['+', '+', '+', '-', '0']);
  const comment = random.pick(comments);
  if (comment) entry.comment = comment;
  return JSON.stringify(entry);
}

export function accountingLines(count: number, seed = corpusSeed): string[] {
  const random = new SeededRandom(seed);
  const lines: string[] = new Array(count);
  for (let i = 0; i < count; i += 1) lines[i] = accountingLine(random);
  return lines;
}

/** One APEL cloud v0.4 message of `records` VM records (cASO's SSM messenger writes 100 per message). */
export function apelCloudMessage(random: SeededRandom, records: number): string {
  const parts: string[] = ['APEL-cloud-message: v0.4'];
  for (let i = 0; i < records; i += 1) {
    const cpus = random.pick([1, 2, 4, 8, 16]);
    const start = Math.floor(monthStart / 1000) + random.int(0, 20 * 24 * 3600);
    const wall = random.int(60, 9 * 24 * 3600);
    const status = random.pick(['started', 'completed', 'completed']);
    const record = [
      `VMUUID: ${random.uuid()}`,
      'SiteName: BENCH-CLOUD',
      'CloudComputeService: BENCH-CLOUD-OpenStack',
      `MachineName: vm-${random.hex(6)}`,
      `LocalUserId: ${random.hex(32)}`,
      `LocalGroupId: ${random.hex(32)}`,
      `GlobalUserName: ${random.pick(users)}`,
      `FQAN: /${random.pick(['vo.access.egi.eu', 'biomed', 'vo.example.org'])}/Role=NULL/Capability=NULL`,
      `Status: ${status}`,
      `StartTime: ${start}`,
      `EndTime: ${status === 'completed' ? start + wall : 0}`,
      `WallDuration: ${wall}`,
      `CpuDuration: ${wall * cpus}`,
      `CpuCount: ${cpus}`,
      'NetworkType: NULL',
      'NetworkInbound: 0',
      'NetworkOutbound: 0',
      `PublicIPCount: ${random.int(0, 1)}`,
      `Memory: ${cpus * 2048}`,
      `Disk: ${cpus * 20}`,
      'BenchmarkType: HEPSPEC06',
      'Benchmark: 10.5',
      'StorageRecordId: NULL',
      `ImageId: ${random.uuid()}`,
      'CloudType: caso/5.2.2 (OpenStack)',
    ];
    parts.push(record.join('\n'));
  }
  return `${parts.join('\n%%\n').replace('v0.4\n%%\n', 'v0.4\n')}\n%%\n`;
}

export function apelCloudMessages(messages: number, recordsPerMessage: number, seed = corpusSeed + 1): string[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: messages }, () => apelCloudMessage(random, recordsPerMessage));
}

/** A ROR operation-log CSV line (ctsec_audit_a.log): date/time, user, tenant, operation, information, result. */
export function rorAuditLine(random: SeededRandom): string {
  const when = new Date(monthStart + Math.floor(random.next() * monthMs)).toISOString().replace('T', ' ').slice(0, 19);
  const user = `user${random.int(1, 500)}`;
  const tenant = `tenant${random.int(1, 40)}`;
  const target = `user${random.int(1, 5000)}`;
  const [operation, information] = random.pick([
    ['createUser', `"userid=""${target}""&mail=""${target}@example.org"""`],
    ['updateUser', `"userid=""${target}""&mail=""${target}@example.org"""`],
    ['deleteUser', `"userid=""${target}"""`],
    ['updatePassword', `"userid=""${target}"""`],
    ['listUser', ''],
    ['createOrg', `"orgid=""${tenant}""&orgname=""${tenant}""&cutoffdate=""31""&accountingmail=""billing@${tenant}.example.org"""`],
  ] as const);
  return `${when},${user},${tenant},${operation},${information},${random.pick(['Success', 'Success', 'Success', 'Failure'])}`;
}

export function rorAuditLines(count: number, seed = corpusSeed + 2): string[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () => rorAuditLine(random));
}

/** An oslo.log text line as nova-compute writes it: time, pid, level, logger, request context, instance, message. */
export function osloLogLine(random: SeededRandom): string {
  const when = new Date(monthStart + Math.floor(random.next() * monthMs)).toISOString().replace('T', ' ').slice(0, 23);
  const level = random.pick(['INFO', 'INFO', 'INFO', 'DEBUG', 'WARNING', 'ERROR']);
  const logger = random.pick(['nova.compute.manager', 'nova.virt.libvirt.driver', 'nova.scheduler.host_manager', 'nova.api.openstack.requestlog']);
  const request = `req-${random.uuid()} ${random.hex(32)} ${random.hex(32)} - default default`;
  const message = random.pick([
    `[instance: ${random.uuid()}] Took ${(random.next() * 30).toFixed(2)} seconds to build instance.`,
    `[instance: ${random.uuid()}] VM Started (Lifecycle Event)`,
    `[instance: ${random.uuid()}] Terminating instance`,
    `10.0.${random.int(0, 255)}.${random.int(1, 254)} "GET /v2.1/servers/detail HTTP/1.1" status: 200 len: ${random.int(200, 90_000)} microversion: 2.79 time: ${(random.next()).toFixed(6)}`,
  ]);
  return `${when} ${random.int(1000, 65_000)} ${level} ${logger} [${request}] ${message}`;
}

export function osloLogLines(count: number, seed = corpusSeed + 3): string[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, () => osloLogLine(random));
}

export interface CorpusFile {
  path: string;
  lines: number;
  bytes: number;
  meanLineBytes: number;
}

/** Write lines as a newline-terminated file. */
export function writeCorpus(file: string, lines: readonly string[]): CorpusFile {
  mkdirSync(path.dirname(file), { recursive: true });
  const text = lines.join('\n') + '\n';
  writeFileSync(file, text);
  const bytes = Buffer.byteLength(text);
  return { path: file, lines: lines.length, bytes, meanLineBytes: bytes / lines.length };
}
