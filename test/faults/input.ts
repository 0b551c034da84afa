import { createHash } from 'node:crypto';

/** A small seeded PRNG (mulberry32): the same seed gives the same input and the same fault points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const base = Date.UTC(2026, 10, 1);
const vmStart = Math.floor(Date.UTC(2026, 10, 2) / 1000);
export const vmCount = 40;
export const site = 'FAULT-SITE';

/** What one accounting document must hold: the fields the line gave, and the duration computed from them. */
export interface AccountingExpectation {
  resource: string;
  value: number;
  userid: string;
  serviceid: string;
  duration_ms: number;
}

/** The latest snapshot of a VM: its durations tell the snapshots apart. */
export interface VmExpectation {
  uuid: string;
  snapshot: number;
  wall: number;
  cpu: number;
}

/** One trial's lines, in the order they are appended, split into slices written one after another. */
export interface TrialInput {
  accounting: string[][];
  caso: string[][];
}

export const vmUuid = (j: number): string => `0fa17000-0000-4000-8000-${j.toString(16).padStart(12, '0')}`;
export const wallOf = (snapshot: number): number => 600 * snapshot;
export const cpuOf = (snapshot: number): number => 1100 * snapshot + 7;

export function contentHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/**
 * The known input of a fault's trials: accounting JSON lines (every 293rd deliberately invalid)
 * and cASO JSON cloud records with repeated, growing snapshots of the same VMs (so only the latest
 * may survive), plus two deliberately invalid cASO lines per trial. Everything expected is kept.
 */
export class KnownInput {
  readonly accounting = new Map<string, AccountingExpectation>();
  readonly vms = new Map<string, VmExpectation>();
  /** the `message` of every line the transform must dead-letter */
  readonly invalid = new Set<string>();
  accountingLines = 0;
  casoLines = 0;
  snapshotLines = 0;
  private next = 0;
  private readonly snapshots = new Array<number>(vmCount).fill(0);
  private readonly random: () => number;

  constructor(
    seed: number,
    private readonly perTrial = { accounting: 3000, snapshots: 60, slices: 6 },
  ) {
    this.random = seededRandom(seed);
  }

  trial(t: number): TrialInput {
    const accounting: string[] = [];
    for (let n = 0; n < this.perTrial.accounting; n++) accounting.push(this.accountingLine(this.next++));
    const caso: string[] = [];
    for (let n = 0; n < this.perTrial.snapshots; n++) {
      const j = Math.floor(this.random() * vmCount);
      this.snapshots[j] = (this.snapshots[j] ?? 0) + 1;
      caso.push(this.vmLine(j, this.snapshots[j] ?? 1));
    }
    const noMonth = JSON.stringify({ SiteName: site, CloudComputeService: 'fault-cloud', VMUUID: `bad00000-0000-4000-8000-${t.toString(16).padStart(12, '0')}`, Status: 'started', CpuCount: 1 });
    const notJson = `{"VMUUID": "trial ${t} truncated`;
    caso.splice(Math.floor(caso.length / 3), 0, noMonth);
    caso.splice(Math.floor((2 * caso.length) / 3), 0, notJson);
    this.invalid.add(noMonth);
    this.invalid.add(notJson);
    this.accountingLines += accounting.length;
    this.casoLines += caso.length;
    this.snapshotLines += this.perTrial.snapshots;
    return { accounting: slices(accounting, this.perTrial.slices), caso: slices(caso, this.perTrial.slices) };
  }

  private accountingLine(i: number): string {
    const resource = `job/${i}`;
    if (i % 293 === 7) {
      const line = JSON.stringify({ timestamp: new Date(base).toISOString(), serviceid: 'svc', level: 'accounting', userid: `u${i % 13}`, resource, action: 'run', value: `${i},5` });
      this.invalid.add(line);
      return line;
    }
    const duration = (i % 977) * 1000 + (i % 7);
    const expectation = { resource, value: i, userid: `u${i % 13}`, serviceid: `svc-${i % 5}`, duration_ms: duration };
    this.accounting.set(resource, expectation);
    return JSON.stringify({ timestamp: new Date(base + i * 1000).toISOString(), serviceid: expectation.serviceid, level: 'accounting', userid: expectation.userid, resource, action: 'run', value: i, measure: 'time', starttime: new Date(base).toISOString(), endtime: new Date(base + duration).toISOString() });
  }

  private vmLine(j: number, snapshot: number): string {
    const uuid = vmUuid(j);
    this.vms.set(uuid, { uuid, snapshot, wall: wallOf(snapshot), cpu: cpuOf(snapshot) });
    return JSON.stringify({ SiteName: site, CloudType: 'caso/5.2.2 (OpenStack)', CloudComputeService: 'fault-cloud', VMUUID: uuid, MachineName: `vm-${j}`, LocalUserId: `user-${j % 7}`, LocalGroupId: `project-${j % 3}`, FQAN: 'vo.example.org', Status: 'started', CpuCount: 2, Memory: 2048, Disk: 20, StartTime: vmStart + j * 60, EndTime: 0, WallDuration: wallOf(snapshot), CpuDuration: cpuOf(snapshot) });
  }
}

function slices(lines: string[], count: number): string[][] {
  const size = Math.ceil(lines.length / count);
  return Array.from({ length: count }, (_, s) => lines.slice(s * size, (s + 1) * size));
}
