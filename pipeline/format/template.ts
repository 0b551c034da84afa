import { TallyError } from '../errors.js';
import { modelOf, textOf, valueAt, type EventDocument } from './field-path.js';

/**
 * Format strings for `tally format` (the Nova spec's nova-log-format):
 *
 *   {timestamp} {log.level:8} {service.name} [{transaction_id}] {message}
 *
 * - `{path}` is the value at a dotted field path of the event (`log.level`, `http.status_code`,
 *   `details.globalpool`); a map key holding dots is matched whole. Arrays print comma-separated,
 *   objects as compact JSON.
 * - `{a|b|c}` prints the first of the paths that has a value (`{user.name|user.id}`).
 * - A path with no value prints `-` (oslo.log's own mark for an empty field), or the `missing` text.
 * - `{path:spec}`: `20` pads to 20 characters, `>8` right-aligns in 8, `.80` cuts after 80, `<20.40` both.
 * - `{{` and `}}` are literal braces; everything else is copied as written.
 * - Newlines, carriage returns and tabs inside a value print as \n, \r and \t, so one event stays one line.
 */
export const defaultFormats = {
  ops: '{timestamp} {log.level} {service.name} [{transaction_id}] {message}',
  audit: '{timestamp} {event.outcome} {service.name} [{transaction_id}] {user.name|user.id} {project.name|project.id} {event.action} {target.id|target.name}',
} as const;

export interface FormatOptions {
  /** what a placeholder without a value prints; `-` unless given */
  missing?: string;
}

export interface EventFormat {
  source: string;
  render(document: EventDocument): string;
}

interface Placeholder {
  paths: string[];
  align: '<' | '>';
  width: number | undefined;
  precision: number | undefined;
}

type Piece = string | Placeholder;

const specPattern = /^([<>])?(\d+)?(?:\.(\d+))?$/;
const pathPattern = /^[^\s{}|:]+$/;

export function compileFormat(source: string, options: FormatOptions = {}): EventFormat {
  const pieces = parseFormat(source);
  const missing = options.missing ?? '-';
  return {
    source,
    render: (document) => pieces.map((piece) => (typeof piece === 'string' ? piece : renderPlaceholder(piece, document, missing))).join(''),
  };
}

/** The summary line of either model: the default format of the event's own model (ops.logs when it cannot tell). */
export function summaryFormat(options: FormatOptions = {}): EventFormat {
  const ops = compileFormat(defaultFormats.ops, options);
  const audit = compileFormat(defaultFormats.audit, options);
  return { source: 'summary', render: (document) => (modelOf(document) === 'audit' ? audit : ops).render(document) };
}

function parseFormat(source: string): Piece[] {
  const pieces: Piece[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const char = source[i] as string;
    const next = source[i + 1];
    if ((char === '{' && next === '{') || (char === '}' && next === '}')) {
      text += char;
      i += 2;
    } else if (char === '}') {
      throw formatError(source, i, 'a "}" without its "{" (write "}}" for a literal brace)');
    } else if (char === '{') {
      const end = source.indexOf('}', i + 1);
      if (end < 0) throw formatError(source, i, 'a "{" that is never closed (write "{{" for a literal brace)');
      if (text) pieces.push(text);
      text = '';
      pieces.push(parsePlaceholder(source, i, source.slice(i + 1, end)));
      i = end + 1;
    } else {
      text += char;
      i += 1;
    }
  }
  if (text) pieces.push(text);
  return pieces;
}

function parsePlaceholder(source: string, at: number, body: string): Placeholder {
  const colon = body.indexOf(':');
  const paths = (colon < 0 ? body : body.slice(0, colon)).split('|').map((p) => p.trim());
  if (paths.some((p) => !pathPattern.test(p))) throw formatError(source, at, `"{${body}}" is not a placeholder: write {field.path}, {a|b} or {field.path:20}`);
  const spec = colon < 0 ? '' : body.slice(colon + 1);
  const match = specPattern.exec(spec);
  if (!match) throw formatError(source, at, `"${spec}" in "{${body}}" is not a width: write 20, >8, .80 or <20.40`);
  return {
    paths,
    align: match[1] === '>' ? '>' : '<',
    width: match[2] === undefined ? undefined : Number(match[2]),
    precision: match[3] === undefined ? undefined : Number(match[3]),
  };
}

function renderPlaceholder(placeholder: Placeholder, document: EventDocument, missing: string): string {
  let text = missing;
  for (const path of placeholder.paths) {
    const value = textOf(valueAt(document, path));
    if (value !== undefined) {
      text = oneLine(value);
      break;
    }
  }
  if (placeholder.precision !== undefined && text.length > placeholder.precision) text = text.slice(0, placeholder.precision);
  if (placeholder.width !== undefined) text = placeholder.align === '>' ? text.padStart(placeholder.width) : text.padEnd(placeholder.width);
  return text;
}

const escapes: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function oneLine(text: string): string {
  return text.replace(/[\n\r\t]/g, (c) => escapes[c] as string);
}

function formatError(source: string, at: number, problem: string): TallyError {
  return new TallyError('USAGE', `the format ${JSON.stringify(source)} has ${problem} at character ${at + 1}`, { details: { format: source, at } });
}
