import { baseName } from '../common/source.js';

/** The six ROR operation logs: the file name says which part of ROR wrote the line. */
export interface RorLog {
  /** the file name without .log and generation: ctsec_audit_a */
  name: string;
  /** what the seed says the log records */
  meaning: string;
  /** event.provider: the ROR component */
  provider: string;
  /** event.category for an operation type this table does not know */
  category: string;
}

export const rorLogs: readonly RorLog[] = [
  { name: 'ctsec_audit_a', meaning: 'operations on the [Tenants] tab of the ROR console', provider: 'console.tenants', category: 'iam' },
  { name: 'ctsec_audit_s', meaning: 'temporary account registrations', provider: 'console.temporary-accounts', category: 'iam' },
  { name: 'ctchg_audit', meaning: 'accounting CLI commands', provider: 'accounting.cli', category: 'configuration' },
  { name: 'charging_audit', meaning: 'operations on the [Usage Charge] tab of the ROR console', provider: 'console.usage-charge', category: 'web' },
  { name: 'accounting_audit', meaning: 'accounting API calls', provider: 'accounting.api', category: 'api' },
  { name: 'cmdb_audit', meaning: 'the first look at the [Dashboard (System Conditions)] tab after logging in', provider: 'console.system-conditions', category: 'web' },
];

const byName: ReadonlyMap<string, RorLog> = new Map(rorLogs.map((log) => [log.name, log]));

/** `ctsec_audit_a.log`, its generations `ctsec_audit_a.log.3`, any case, any directory (Windows too). */
const logFileName = /^([a-z_]+)\.log(?:\.\d+)?$/i;

/** The log a path names, or undefined for a file that is none of the six. */
export function rorLogOfPath(path: string | null): RorLog | undefined {
  const name = baseName(path);
  const m = name === null ? null : logFileName.exec(name);
  return m ? byName.get((m[1] as string).toLowerCase()) : undefined;
}

export function rorLogNamed(name: string): RorLog | undefined {
  return byName.get(name.toLowerCase().replace(/\.log(?:\.\d+)?$/, ''));
}
