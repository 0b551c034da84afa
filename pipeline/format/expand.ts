import { isObject, type EventDocument } from './field-path.js';

/**
 * `tally expand` (the Nova spec's nova-log-expand): every field of an event, one per line, nested
 * objects indented under their key, text with newlines (stack traces, joined lines) as a block of
 * real lines, and text that holds a JSON object or array (an audit line's original, a Nova rpc
 * field) expanded like the rest. YAML-like, for reading: nothing is quoted except the empty text.
 *
 *   log:
 *     level: ERROR
 *   error_stack_trace: |
 *     Traceback (most recent call last):
 *       File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line 2512, in _build_and_run_instance
 */
export function expandEvent(document: EventDocument, indentUnit = '  '): string {
  return objectLines(document, '', indentUnit).join('\n') + '\n';
}

function objectLines(object: Record<string, unknown>, indent: string, unit: string): string[] {
  return Object.entries(object).flatMap(([key, value]) => fieldLines(key, value, indent, unit));
}

function fieldLines(key: string, value: unknown, indent: string, unit: string): string[] {
  const inner = structured(value);
  if (isObject(inner)) return Object.keys(inner).length === 0 ? [`${indent}${key}: {}`] : [`${indent}${key}:`, ...objectLines(inner, indent + unit, unit)];
  if (Array.isArray(inner)) {
    if (inner.length === 0) return [`${indent}${key}: []`];
    if (inner.every((item) => !isObject(structured(item)) && !Array.isArray(structured(item)) && !isMultiline(item))) return [`${indent}${key}: [${inner.map(scalar).join(', ')}]`];
    return [`${indent}${key}:`, ...inner.flatMap((item) => itemLines(item, indent + unit, unit))];
  }
  if (isMultiline(inner)) return [`${indent}${key}: |`, ...blockLines(inner as string, indent + unit)];
  return [`${indent}${key}: ${scalar(inner)}`];
}

function itemLines(item: unknown, indent: string, unit: string): string[] {
  const inner = structured(item);
  if (isObject(inner)) {
    const lines = objectLines(inner, indent + unit, unit);
    return lines.length === 0 ? [`${indent}- {}`] : [`${indent}- ${(lines[0] as string).trimStart()}`, ...lines.slice(1)];
  }
  if (Array.isArray(inner)) return [`${indent}-`, ...inner.flatMap((i) => itemLines(i, indent + unit, unit))];
  if (isMultiline(inner)) return [`${indent}- |`, ...blockLines(inner as string, indent + unit)];
  return [`${indent}- ${scalar(inner)}`];
}

/** Text that holds a JSON object or array, parsed; anything else as it is. */
function structured(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (!(trimmed.startsWith('{') && trimmed.endsWith('}')) && !(trimmed.startsWith('[') && trimmed.endsWith(']'))) return value;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return isObject(parsed) || Array.isArray(parsed) ? parsed : value;
  } catch {
    return value;
  }
}

const isMultiline = (value: unknown): boolean => typeof value === 'string' && /[\r\n]/.test(value);

function blockLines(text: string, indent: string): string[] {
  return text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n').map((line) => (line === '' ? '' : `${indent}${line}`));
}

function scalar(value: unknown): string {
  if (value === '') return '""';
  if (value === null || value === undefined) return 'null';
  return String(value);
}
