import { valueAt, type EventDocument } from './field-path.js';
import type { EventFormat } from './template.js';

/** The event's formatted line, then its stack trace (ops.logs error_stack_trace) as real lines, indented under it. */
export function withStackTrace(document: EventDocument, format: EventFormat, indent = '    '): string[] {
  const lines = [format.render(document)];
  const stack = valueAt(document, 'error_stack_trace');
  if (typeof stack === 'string' && stack.trim() !== '') {
    lines.push(...stack.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n').map((line) => `${indent}${line}`));
  }
  return lines;
}
