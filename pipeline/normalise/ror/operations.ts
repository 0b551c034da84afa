import type { AuditEvent } from '../common/audit-event.js';
import type { RorLog } from './logs.js';

/**
 * What each ROR operation type means in ECS terms (event.category, event.type) and what it acted
 * on (target), from the operation table of the seed. An operation type not in the table is read
 * from its verb (create, delete, update, list, get, …) in its log's category.
 */

type Target = Partial<AuditEvent['target']>;

interface OperationMeaning {
  category: string;
  type: string[];
  target?: (details: Record<string, string>) => Target;
}

const user = (details: Record<string, string>): Target => ({ type: 'user', id: details.userid ?? null, name: details.mail ?? null });
const tenant = (details: Record<string, string>): Target => ({ type: 'tenant', id: details.orgid ?? null, name: details.orgname ?? null });
const lPlatform = (details: Record<string, string>): Target => ({ type: 'l-platform', id: details.id ?? null, name: details.name ?? null });
const named = (type: string) => (): Target => ({ type });

const tenantOperations: Record<string, OperationMeaning> = {
  registUser: { category: 'iam', type: ['user', 'info'], target: (d) => ({ type: 'user', name: d.mail ?? null }) },
  createUser: { category: 'iam', type: ['user', 'creation'], target: user },
  deleteUser: { category: 'iam', type: ['user', 'deletion'], target: user },
  updateUser: { category: 'iam', type: ['user', 'change'], target: user },
  listUser: { category: 'iam', type: ['user', 'info'] },
  moveUser: { category: 'iam', type: ['user', 'change'], target: user },
  updatePassword: { category: 'iam', type: ['user', 'change'], target: user },
  createOrg: { category: 'iam', type: ['group', 'creation'], target: tenant },
  deleteOrg: { category: 'iam', type: ['group', 'deletion'], target: tenant },
  updateOrg: { category: 'iam', type: ['group', 'change'], target: tenant },
  listOrg: { category: 'iam', type: ['group', 'info'] },
};

const operationsByLog: Record<string, Record<string, OperationMeaning>> = {
  ctsec_audit_a: tenantOperations,
  ctsec_audit_s: { createUser: { category: 'iam', type: ['user', 'creation'], target: user } },
  ctchg_audit: {
    updatePMaster: { category: 'configuration', type: ['change'], target: named('product-master') },
    listPMaster: { category: 'configuration', type: ['access'], target: named('product-master') },
    updateMlogSch: { category: 'configuration', type: ['change'], target: named('metering-log-schedule') },
    listMlogSch: { category: 'configuration', type: ['access'], target: named('metering-log-schedule') },
    listMeteringlog: { category: 'database', type: ['access'], target: named('metering-log') },
    deleteMlog: { category: 'database', type: ['deletion'], target: named('metering-log') },
    getCurrencyUnit: { category: 'configuration', type: ['access'], target: named('currency-unit') },
    updateCurrencyUnit: { category: 'configuration', type: ['change'], target: named('currency-unit') },
    resetCurrencyUnit: { category: 'configuration', type: ['change'], target: named('currency-unit') },
  },
  charging_audit: {
    listLplatformCharge: { category: 'web', type: ['access'], target: named('usage-charge') },
    getDetailCharge: { category: 'web', type: ['access'], target: named('usage-charge') },
    listTenantCharge: { category: 'web', type: ['access'], target: named('usage-charge') },
    listLplatformChargeByTenant: { category: 'web', type: ['access'], target: named('usage-charge') },
    downloadFile: { category: 'file', type: ['access'], target: (d) => ({ type: 'file', name: d.target ?? null }) },
  },
  accounting_audit: {
    getResourceUsage: { category: 'api', type: ['access'] },
    getUsagePoint: { category: 'api', type: ['access'] },
    registerUsagePoint: { category: 'api', type: ['creation'], target: lPlatform },
    getDailyCharge: { category: 'api', type: ['access'] },
    registerDailyCharge: { category: 'api', type: ['creation'], target: lPlatform },
    getMonthlyCharge: { category: 'api', type: ['access'] },
    registerMonthlyCharge: { category: 'api', type: ['creation'], target: lPlatform },
    getTenants: { category: 'api', type: ['access'], target: named('tenant') },
  },
  cmdb_audit: { dispUsageStatus: { category: 'web', type: ['access'], target: named('system-conditions') } },
};

/** the log an operation type belongs to when the file name does not say: only for types one log alone writes */
const logsOfOperation = new Map<string, string[]>();
for (const [log, operations] of Object.entries(operationsByLog)) {
  for (const operation of Object.keys(operations)) logsOfOperation.set(operation, [...(logsOfOperation.get(operation) ?? []), log]);
}

export function logNameOfOperation(operation: string): string | undefined {
  const logs = logsOfOperation.get(operation);
  return logs?.length === 1 ? logs[0] : undefined;
}

const verbTypes: readonly [RegExp, string][] = [
  [/^(?:create|regist|add|new)/i, 'creation'],
  [/^(?:delete|remove|drop)/i, 'deletion'],
  [/^(?:update|move|reset|set|change|modify)/i, 'change'],
];

export interface OperationClassification {
  category: string[];
  type: string[];
  target: Target;
}

export function classifyOperation(operation: string, log: RorLog | undefined, details: Record<string, string>): OperationClassification {
  const operations = log ? operationsByLog[log.name] : undefined;
  const known = operations && Object.hasOwn(operations, operation) ? operations[operation] : undefined;
  const meaning = known ?? (log === undefined ? findAnywhere(operation) : undefined);
  if (meaning) return { category: [meaning.category], type: [...meaning.type], target: meaning.target?.(details) ?? {} };
  const category = log?.category ?? 'iam';
  const verb = verbTypes.find(([pattern]) => pattern.test(operation))?.[1];
  // iam has no `access` type in ECS: reading there is `info`
  const type = verb ?? (category === 'iam' ? 'info' : 'access');
  return { category: [category], type: [type], target: {} };
}

function findAnywhere(operation: string): OperationMeaning | undefined {
  for (const operations of Object.values(operationsByLog)) if (Object.hasOwn(operations, operation)) return operations[operation];
  return undefined;
}

const successWords: ReadonlySet<string> = new Set(['success', 'successful', 'succeeded', 'ok', 'normal', 'normal end', 'completed', 'complete', 'true', '0']);
const failureStart = /^(?:fail|error|ng\b|false|abnormal|denied|unauthori[sz]ed|forbidden|reject)/i;

/** The operation result in ECS words; the result itself is the reason whenever it says more than plain success. */
export function outcomeOf(result: string): { outcome: 'success' | 'failure' | 'unknown'; reason: string | null } {
  const text = result.trim();
  const word = text.toLowerCase();
  if (successWords.has(word)) return { outcome: 'success', reason: null };
  if (failureStart.test(word)) return { outcome: 'failure', reason: text };
  return { outcome: 'unknown', reason: text === '' ? null : text };
}
