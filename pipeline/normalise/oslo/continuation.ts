import { parseOsloHeader, stripOuterPrefix, type OsloHeader } from './header.js';

/**
 * The lines after a record's first line, as Filebeat multiline or the TracebackJoiner joined them:
 *   - exception-prefix lines (same time, pid and logger, level ERROR or the pre-1.2 TRACE, no
 *     context bracket): the prefix and `[instance: UUID] ` removed, indentation kept;
 *   - lines without an oslo header (a foreign traceback, an embedded newline): the record's own
 *     journald or container wrapper removed.
 * Unprefixed lines before any traceback belong to the message (SQLAlchemy's "(Background on this
 * error at: …)"); from the first traceback line on, every line is the stack trace. The prefix-only
 * line oslo ends each block with, and any empty tail, is not part of it.
 */

export interface Continuation {
  messageLines: string[];
  stack: string[];
}

const instancePrefix = /^\[instance: [0-9a-fA-F-]{36}\] ?/;
const tracebackStart = /^(?:Traceback \(most recent call last\):|During handling of the above exception|The above exception was the direct cause)/;

export function splitContinuation(header: OsloHeader, lines: readonly string[], firstMessage: string): Continuation {
  const messageLines: string[] = [];
  // a record that is itself a traceback's first line (an orphaned block, the pre-1.2 TRACE lines)
  const stack: string[] = tracebackStart.test(firstMessage) && !hasContextBracket(header.rest) ? [firstMessage] : [];
  for (const line of lines) {
    const prefixed = exceptionLineContent(header, line);
    const content = prefixed ?? stripOuterPrefix(line, header.outer).replace(/\r$/, '');
    if (stack.length === 0 && prefixed === null && !tracebackStart.test(content)) messageLines.push(content);
    else stack.push(content);
  }
  while (stack.length > 0 && (stack[stack.length - 1] as string).trim() === '') stack.pop();
  return { messageLines, stack };
}

/** the traceback text of an exception-prefix line of this record, or null when the line is not one */
export function exceptionLineContent(header: OsloHeader, line: string): string | null {
  const own = parseOsloHeader(line);
  if (own === null || !isExceptionPrefixOf(header, own)) return null;
  return own.rest.replace(instancePrefix, '').replace(/\r$/, '');
}

/** `line` repeats `record`'s time, pid and logger at level ERROR (or TRACE) without a context bracket */
export function isExceptionPrefixOf(record: OsloHeader, line: OsloHeader): boolean {
  return (
    (line.level === 'ERROR' || line.level === 'TRACE') &&
    line.time === record.time &&
    line.pid === record.pid &&
    line.logger === record.logger &&
    !hasContextBracket(line.rest)
  );
}

export function hasContextBracket(rest: string): boolean {
  return rest.startsWith('[-]') || rest.startsWith('[req-') || rest.startsWith('[None ') || /^\[[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-/.test(rest);
}
