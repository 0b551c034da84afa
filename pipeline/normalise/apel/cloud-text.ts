import { parseIsoDateTime } from '../cloud/time.js';
import { unparsable, type ParseOutcome, type Problem, type RecordPart } from './types.js';

/**
 * APEL cloud accounting messages: a header line `APEL-cloud-message: v0.4` (or v0.2), then
 * records of `Key: Value` lines separated by lines `%%`, read the way APEL's loader reads them
 * (apel/db/loader/record_factory.py, apel/db/records/record.py) except where noted.
 */

export const cloudMessageType = 'APEL-cloud-message';

/** The keys of the v0.2 cloud record (APEL's CloudRecord of 2013, cASO's `_v02_fields`). */
export const cloudKeysV02 = [
  'VMUUID', 'SiteName', 'MachineName', 'LocalUserId', 'LocalGroupId', 'GlobalUserName', 'FQAN', 'Status', 'StartTime', 'EndTime', 'SuspendDuration',
  'WallDuration', 'CpuDuration', 'CpuCount', 'NetworkType', 'NetworkInbound', 'NetworkOutbound', 'Memory', 'Disk', 'StorageRecordId', 'ImageId', 'CloudType',
] as const;

/** v0.4 = v0.2 and these. */
export const cloudKeysAddedInV04 = ['CloudComputeService', 'PublicIPCount', 'BenchmarkType', 'Benchmark'] as const;

export const cloudKeysByVersion: Readonly<Record<string, readonly string[]>> = {
  'v0.2': cloudKeysV02,
  'v0.4': [...cloudKeysV02, ...cloudKeysAddedInV04],
};

/**
 * APEL reads every header version with one CloudRecord class, so a key of either version is
 * accepted under either header (a v0.2 header with v0.4 keys loads); so is RecordCreateTime
 * (added in 2017). These are typed as APEL types them; every other key is text.
 */
const integerKeys: ReadonlySet<string> = new Set(['SuspendDuration', 'WallDuration', 'CpuDuration', 'NetworkInbound', 'NetworkOutbound', 'PublicIPCount', 'Memory', 'Disk']);
const decimalKeys: ReadonlySet<string> = new Set(['CpuCount', 'Benchmark']);
const timeKeys: ReadonlySet<string> = new Set(['RecordCreateTime', 'StartTime', 'EndTime']);

/** Python's str.splitlines, which APEL splits a record with. */
const lineBreak = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;
const separator = /^(?:%%)+$/;
const integer = /^[+-]?\d+$/;
const decimal = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** the one date-time form APEL's cloud parser reads (then in the server's local time zone; Tally reads it as UTC, as the Z says) */
const zuluTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
/** APEL's check_for_null: these values are no value */
const nullValue = /^(?:none|null)?$/i;

interface Line {
  number: number;
  text: string;
}

export function parseCloudText(text: string): ParseOutcome {
  const lines = text.split(lineBreak);
  let first = 0;
  while (first < lines.length && (lines[first] as string).trim() === '') first += 1;
  if (first === lines.length) return unparsable('empty', `the message is empty, expected the header \`${cloudMessageType}: v0.4\` and records`);
  const header = (lines[first] as string).trim();
  const colon = header.indexOf(':');
  const type = colon < 0 ? header : header.slice(0, colon).trim();
  if (colon < 0 || type !== cloudMessageType) return unparsable('header', headerProblem(header, type, colon < 0));
  // Python's strip(': '), as APEL reads the version
  const version = header.slice(colon).replace(/^[: ]+|[: ]+$/g, '');
  const parts: RecordPart[] = [];
  let chunk: Line[] = [];
  const close = () => {
    const part = recordPart(chunk, parts.length + 1, header);
    if (part) parts.push(part);
    chunk = [];
  };
  for (let i = first + 1; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (separator.test(line.trim())) close();
    else chunk.push({ number: i + 1, text: line });
  }
  close();
  return { message: { recordType: 'vm', format: `${cloudMessageType}: ${version}`, parts } };
}

function headerProblem(header: string, type: string, noColon: boolean): string {
  const shown = JSON.stringify(header.length > 60 ? `${header.slice(0, 60)}…` : header);
  if (noColon && header.toLowerCase().startsWith(cloudMessageType.toLowerCase())) return `the header ${shown} needs a colon after the message type: \`${cloudMessageType}: v0.4\``;
  if (type.toLowerCase() === cloudMessageType.toLowerCase()) return `the header ${shown} must spell the message type \`${cloudMessageType}\` exactly: APEL matches it case-sensitively`;
  if (/^APEL-[\w-]+-message/i.test(type)) return `the header ${shown} names an APEL message that is not a cloud accounting message; this kind reads \`${cloudMessageType}: v0.4\` text, StAR XML and the IP, accelerator and energy JSON messages`;
  return `the first line ${shown} is not an APEL cloud message header: expected \`${cloudMessageType}: v0.4\` (or v0.2)`;
}

/** One record's lines (between separators) as a part, or undefined when they are all blank. */
function recordPart(chunk: Line[], number: number, header: string): RecordPart | undefined {
  let start = 0;
  let end = chunk.length;
  while (start < end && (chunk[start] as Line).text.trim() === '') start += 1;
  while (end > start && (chunk[end - 1] as Line).text.trim() === '') end -= 1;
  if (start === end) return undefined;
  const fields: Record<string, unknown> = {};
  const written = new Map<string, string>();
  const lineOf = new Map<string, number>();
  const problems: Problem[] = [];
  const problem = (rule: string, message: string) => problems.push({ code: 'RECORD_UNPARSABLE', rule, message });
  const recordLines: string[] = [];
  for (let i = start; i < end; i += 1) {
    const { number: lineNumber, text } = chunk[i] as Line;
    recordLines.push(text);
    const line = text.trim();
    // blank lines inside a record: APEL refuses the message; nothing is ambiguous, so Tally reads on
    if (line === '') continue;
    if (line.includes('%%')) {
      problem('separator-in-value', `line ${lineNumber} ${quote(line)} contains \`%%\`: APEL splits records at every %%, so no value may contain it`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      problem('key-value', colon < 0 ? `line ${lineNumber} ${quote(line)} has no \`:\`: every line of a record is \`Key: Value\`` : `line ${lineNumber} ${quote(line)} has no key before \`:\``);
      continue;
    }
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    const before = written.get(key);
    if (before !== undefined && before !== value) {
      problem('duplicate-field', `\`${key}\` is given twice, as ${JSON.stringify(before)} (line ${lineOf.get(key)}) and ${JSON.stringify(value)} (line ${lineNumber}); APEL would keep the last silently`);
      continue;
    }
    written.set(key, value);
    lineOf.set(key, lineNumber);
    const typed = typedValue(key, value);
    if (typed !== undefined) fields[key] = typed;
  }
  return { number, at: `line ${(chunk[start] as Line).number}`, fields, written, original: `${header}\n${recordLines.join('\n')}\n`, problems };
}

/**
 * A value as APEL types it: integers in plain decimal, decimals, epoch-second times (or the
 * `YYYY-MM-DDTHH:MM:SSZ` form); no value for an empty, `none` or `null` value. Text that is not
 * of its key's type stays text, for the schema to refuse with the value as written.
 */
function typedValue(key: string, value: string): string | number | undefined {
  if (nullValue.test(value)) return undefined;
  if (integerKeys.has(key)) return integer.test(value) ? Number(value) : value;
  if (decimalKeys.has(key)) return decimal.test(value) ? Number(value) : value;
  if (timeKeys.has(key)) {
    if (integer.test(value)) return Number(value);
    const millis = zuluTime.test(value) ? parseIsoDateTime(value) : undefined;
    return millis === undefined ? value : millis / 1000;
  }
  return value;
}

function quote(line: string): string {
  return line.length > 60 ? `${JSON.stringify(line.slice(0, 60))}…` : JSON.stringify(line);
}
