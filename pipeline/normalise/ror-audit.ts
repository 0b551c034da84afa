import { parse as parseCsv } from 'csv-parse/sync';
import type { RejectionReason } from '../dlq.js';
import { describeOrigin, type RawEnvelope } from '../envelope.js';
import { messageOf } from '../errors.js';
import { auditRecord, auditTopic } from './common/audit-event.js';
import { civilToMillis, envelopeZone, parseIsoLike } from './common/date-time.js';
import { lineRecordId } from './common/record-id.js';
import { describeValue } from './common/source.js';
import { rorLogNamed, rorLogOfPath, type RorLog } from './ror/logs.js';
import { parseOperationInformation } from './ror/operation-information.js';
import { classifyOperation, logNameOfOperation, outcomeOf } from './ror/operations.js';
import type { Normalised, Normaliser } from './types.js';

/**
 * kind `ror-audit`: one line of a ROR operation log (ctsec_audit_a.log, …, and their generations
 * ctsec_audit_a.log.[n]) becomes one audit.events record. The line is CSV: operation date/time,
 * user ID, tenant name, operation type, operation information, operation result. The file name
 * says which part of ROR wrote it; without a file name (HTTP, `tally convert` without --name),
 * `fields.ror_log` may say, else an operation type only one log writes does.
 */

const columns = ['operation_datetime', 'user_id', 'tenant_name', 'operation_type', 'operation_information', 'operation_result'] as const;
const csvOptions = { bom: true, relax_column_count: true, skip_empty_lines: false } as const;
const operationType = /^[A-Za-z][\w.-]*$/;

export const rorAuditNormaliser: Normaliser = {
  kind: 'ror-audit',
  topics: [auditTopic],
  normalise: normaliseRorAudit,
};

function normaliseRorAudit(envelope: RawEnvelope): Normalised {
  const origin = describeOrigin(envelope);
  const line = envelope.message.replace(/\r$/, '');
  const reason = (code: 'RECORD_UNPARSABLE' | 'RECORD_INVALID', rule: string, text: string, column?: (typeof columns)[number]): RejectionReason => ({
    code,
    rule,
    ...(column ? { path: `/${column}` } : {}),
    message: `${text} (${origin})`,
  });
  const rejected = (...reasons: RejectionReason[]): Normalised => ({ records: [], rejections: [{ reasons }] });

  if (line.trim() === '') return rejected(reason('RECORD_UNPARSABLE', 'csv', 'the line is empty, expected a ROR operation-log CSV line'));
  let rows: string[][];
  try {
    rows = parseCsv(line, csvOptions) as string[][];
  } catch (error) {
    return rejected(reason('RECORD_UNPARSABLE', 'csv', `the line is not valid CSV: ${messageOf(error)}`));
  }
  if (rows.length !== 1) return rejected(reason('RECORD_UNPARSABLE', 'csv', `expected one CSV record, got ${rows.length}`));
  const fields = rows[0] as string[];
  if (fields.length !== columns.length) {
    return rejected(reason('RECORD_INVALID', 'columns', `expected ${columns.length} fields (operation date/time, user ID, tenant name, operation type, operation information, operation result), got ${fields.length}`));
  }
  const [when, userId, tenant, operation, information, result] = fields as [string, string, string, string, string, string];

  const reasons: RejectionReason[] = [];
  const zone = envelopeZone(envelope);
  if (zone === null) reasons.push(reason('RECORD_INVALID', 'timezone', `the input's fields.timezone ${describeValue(envelope.fields?.timezone)} is not a time zone (an IANA name such as Asia/Tokyo, or an offset such as +09:00)`));
  const civil = parseIsoLike(when.trim());
  const timestamp = civil && zone ? civilToMillis(civil, zone) : undefined;
  if (civil === undefined || (zone !== null && timestamp === undefined)) {
    reasons.push(reason('RECORD_INVALID', 'date-time', `the operation date/time must be a date-time such as 2012-04-01 10:15:32.125 or 2012-04-01T10:15:32.125+0900, got ${describeValue(when)}`, 'operation_datetime'));
  }
  if (!operationType.test(operation.trim())) reasons.push(reason('RECORD_INVALID', 'operation-type', `the operation type must be a name such as createUser, got ${describeValue(operation)}`, 'operation_type'));
  const parsed = parseOperationInformation(information);
  if (!parsed.ok) reasons.push(reason('RECORD_INVALID', 'operation-information', `the operation information must be key="value" pairs joined by &: ${parsed.problem}, in ${describeValue(information)}`, 'operation_information'));
  if (reasons.length > 0 || timestamp === undefined || !parsed.ok) return { records: [], rejections: [{ reasons }] };

  const action = operation.trim();
  const log = logOf(envelope, action);
  const { details, lists } = parsed.value;
  const { category, type, target } = classifyOperation(action, log, details);
  const { outcome, reason: why } = outcomeOf(result);
  const id = lineRecordId(envelope, line);
  return {
    records: [
      auditRecord(
        {
          id,
          timestamp,
          module: 'ror',
          dataset: `ror.${log?.name ?? 'unknown'}`,
          provider: log?.provider ?? null,
          action,
          category,
          type,
          outcome,
          reason: why,
          user: { id: blankToNull(userId) },
          project: { name: blankToNull(tenant) },
          service: { name: 'ror' },
          target,
          details,
          detailsLists: lists,
        },
        envelope,
        line,
      ),
    ],
    rejections: [],
  };
}

function logOf(envelope: RawEnvelope, operation: string): RorLog | undefined {
  const byPath = rorLogOfPath(typeof envelope.log?.file?.path === 'string' ? envelope.log.file.path : null);
  if (byPath) return byPath;
  const configured = envelope.fields?.ror_log;
  const byField = typeof configured === 'string' ? rorLogNamed(configured) : undefined;
  if (byField) return byField;
  const byOperation = logNameOfOperation(operation);
  return byOperation === undefined ? undefined : rorLogNamed(byOperation);
}

function blankToNull(value: string): string | null {
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}
