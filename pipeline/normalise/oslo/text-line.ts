import type { RawEnvelope } from '../../envelope.js';
import { civilToMillis, parseIsoLike, type Zone } from '../common/date-time.js';
import { describeValue } from '../common/source.js';
import { parseContext } from './context.js';
import { splitContinuation } from './continuation.js';
import { parseOsloHeader, stripAnsi, type OsloHeader } from './header.js';
import { levelNumberOf, type LineReading } from './log-event.js';
import { debugOrigin, errorSummary, tracebackException, wsgiAccess } from './message.js';
import { processNameOfPath, processNameOfProgram, serviceNameOf } from './service.js';

/** An oslo.log text record (its first line and any joined continuation lines) as ops.logs facts, or why not. */

/** the error summary is looked for in at most this much of a message */
const maxSummaryScan = 16_384;
const looksLikeContinuation = /^(?:\s|Traceback \(most recent|File "|During handling|\(Background on)/;

export function readTextRecord(envelope: RawEnvelope, zone: Zone): LineReading {
  const lines = envelope.message.split('\n');
  const first = (lines[0] as string).replace(/\r$/, '');
  const header = parseOsloHeader(first);
  if (header === null) {
    const plain = stripAnsi(first);
    const hint = looksLikeContinuation.test(plain)
      ? '; it looks like a continuation line (a traceback or an embedded newline) that reached the transform without the line it belongs to: join lines before (Filebeat multiline) or in the transform (TracebackJoiner)'
      : '';
    return { ok: false, reason: { code: 'RECORD_UNPARSABLE', rule: 'oslo-header', text: `the line is not an oslo.log line: expected "DATE TIME[.mmm] [PID] LEVEL logger message" (a JSON-formatter line starts with {), got ${describeValue(first)}${hint}` } };
  }
  const timestamp = timestampOf(header, envelope, zone);
  if (timestamp === undefined) {
    return { ok: false, reason: { code: 'RECORD_INVALID', rule: 'date-time', path: '/timestamp', text: `the oslo.log time ${describeValue(header.time ?? header.outer?.syslogTime)} is not a real date-time` } };
  }

  const context = parseContext(header.rest);
  const { messageLines, stack } = splitContinuation(header, lines.slice(1), context.message);
  const level = header.level === 'WARN' ? 'WARNING' : header.level;
  const levelNumber = levelNumberOf(level);
  const origin = level === 'DEBUG' ? debugOrigin(context.message) : null;
  const firstMessage = origin?.message ?? context.message;
  const message = messageLines.length === 0 ? firstMessage : [firstMessage, ...messageLines].join('\n');
  const error = tracebackException(stack) ?? (levelNumber >= 30 ? errorSummary(firstMessage.slice(0, maxSummaryScan)) : null);
  const path = typeof envelope.log?.file?.path === 'string' ? envelope.log.file.path : null;
  const processName = processNameOfPath(path) ?? processNameOfProgram(header.outer?.program);

  return {
    ok: true,
    facts: {
      timestamp,
      level,
      levelNumber,
      logger: header.logger,
      format: 'text',
      origin: { function: origin?.function ?? null, file: origin?.file ?? null, line: origin?.line ?? null },
      service: { name: serviceNameOf({ configured: envelope.fields?.service, processName, logger: header.logger, path }) },
      process: { pid: header.pid ?? origin?.pid ?? header.outer?.pid ?? null, name: processName },
      host: header.outer?.kind === 'syslog' ? (header.outer.host ?? null) : null,
      transaction_id: context.requestId,
      trace_id: context.globalRequestId,
      user: { id: context.userId, name: context.userName, domain: context.userDomain },
      project: { id: context.projectId, name: context.projectName, domain: context.projectDomain },
      domain_id: context.domainId,
      system_scope: context.systemScope,
      user_identity: context.identity,
      cloud_instance_id: context.instance,
      message,
      error_type: error?.type ?? null,
      error_message: error?.message ?? null,
      error_stack_trace: stack.length === 0 ? null : stack.join('\n'),
      access: wsgiAccess(context.message),
    },
  };
}

const months: Record<string, number> = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 };
const syslogTime = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)$/;

function timestampOf(header: OsloHeader, envelope: RawEnvelope, zone: Zone): number | undefined {
  if (header.time !== null) {
    const civil = parseIsoLike(header.offset === null ? header.time : `${header.time}${header.offset}`);
    return civil === undefined ? undefined : civilToMillis(civil, zone);
  }
  const m = syslogTime.exec(header.outer?.syslogTime ?? '');
  const month = m && Object.hasOwn(months, m[1] as string) ? (months[m[1] as string] as number) : undefined;
  if (!m || month === undefined) return undefined;
  // syslog times have no year: the shipping time's, or the year before for a December line shipped in January
  const shipped = new Date(typeof envelope['@timestamp'] === 'string' ? envelope['@timestamp'] : Number.NaN);
  if (Number.isNaN(shipped.getTime())) return undefined;
  const year = shipped.getUTCFullYear() - (month > shipped.getUTCMonth() + 2 ? 1 : 0);
  return civilToMillis({ year, month, day: Number(m[2]), hour: Number(m[3]), minute: Number(m[4]), second: Number(m[5]), fraction: '' }, zone);
}
