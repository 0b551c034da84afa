/**
 * The start of one physical oslo.log text line: `DATE TIME[.mmm] [PID] LEVEL logger rest`, found
 * behind what deployments wrap it in (journald/syslog `Mon DD HH:MM:SS host unit[pid]: `, container
 * runtimes `2025-05-14T07:09:57.138Z [container] `, `oc logs --prefix` `[pod/x/y] `, a dataset's file
 * name), ANSI colour codes removed. Pure string work: the normaliser and the traceback joiner share it.
 */

export interface OuterPrefix {
  /** syslog: journald or rsyslog; wrapped: any other text before the oslo timestamp */
  kind: 'syslog' | 'wrapped';
  /** exactly the text removed from the line's start */
  text: string;
  /** the syslog header time, `Jun 18 15:45:42` (no year) */
  syslogTime?: string;
  host?: string;
  /** syslog program or unit (nova-api, devstack@n-api.service, nova_compute), or the container in `[…]` */
  program?: string;
  pid?: number;
}

export interface OsloHeader {
  /** `2017-05-16 00:00:00.008`; null for a level-led line behind a syslog header (devstack's journald format) */
  time: string | null;
  /** an explicit offset after the time (`%(isotime)s` formats) */
  offset: string | null;
  pid: number | null;
  level: string;
  logger: string;
  /** the text after the logger and its one separating space: context bracket, instance, message */
  rest: string;
  outer: OuterPrefix | null;
}

const levels = 'TRACE|DEBUG|INFO|AUDIT|WARNING|WARN|ERROR|CRITICAL|FATAL';
const headAt = new RegExp(`(\\d{4}-\\d\\d-\\d\\d[ T]\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d{1,9})?)([+-]\\d\\d:?\\d\\d|Z)? +(?:(\\d+) +)?(${levels}) +(\\S+)(?: (.*))?$`, 'sy');
const levelLedAt = new RegExp(`(${levels}) +(\\S+)(?: (.*))?$`, 'sy');
const syslogPrefix = /^([A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d) (\S+) ([^\s[\]:]+)(?:\[(\d+)\])?: /;
const containerName = /\[([^\]\s]{1,200})\]/;
const dateTimeCandidates = /\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d/g;
const ansi = /\x1b\[[0-9;]*m/g;
/** how far into a line an outer prefix may reach */
const maxPrefix = 240;

export function stripAnsi(line: string): string {
  return line.includes('\x1b') ? line.replace(ansi, '') : line;
}

/** The oslo header of one physical line (no newline in it), or null when the line has none. */
export function parseOsloHeader(rawLine: string): OsloHeader | null {
  const line = stripAnsi(rawLine);
  const direct = headAtIndex(line, 0, null);
  if (direct) return direct;
  const syslog = syslogPrefix.exec(line);
  if (syslog) {
    const outer: OuterPrefix = { kind: 'syslog', text: syslog[0], syslogTime: syslog[1] as string, host: syslog[2] as string, program: syslog[3] as string, ...(syslog[4] !== undefined ? { pid: Number(syslog[4]) } : {}) };
    const start = syslog[0].length;
    const inner = headAtIndex(line, start, outer) ?? findHead(line, start, outer);
    if (inner) return inner;
    levelLedAt.lastIndex = start;
    const m = levelLedAt.exec(line);
    if (m) return { time: null, offset: null, pid: outer.pid ?? null, level: m[1] as string, logger: m[2] as string, rest: m[3] ?? '', outer };
    return null;
  }
  return findHead(line, 1, null);
}

function headAtIndex(line: string, index: number, outer: OuterPrefix | null): OsloHeader | null {
  headAt.lastIndex = index;
  const m = headAt.exec(line);
  if (!m) return null;
  return { time: m[1] as string, offset: m[2] ?? null, pid: m[3] === undefined ? null : Number(m[3]), level: m[4] as string, logger: m[5] as string, rest: m[6] ?? '', outer };
}

/** the first date-time within reach where a whole oslo header starts (Sunbeam lines carry two other times before it) */
function findHead(line: string, from: number, outer: OuterPrefix | null): OsloHeader | null {
  dateTimeCandidates.lastIndex = from;
  for (let tries = 0; tries < 4; tries += 1) {
    const candidate = dateTimeCandidates.exec(line);
    if (!candidate || candidate.index > maxPrefix) return null;
    const wrapper: OuterPrefix = outer ?? wrappedPrefix(line.slice(0, candidate.index));
    const head = headAtIndex(line, candidate.index, wrapper);
    if (head) return outer ? { ...head, outer: { ...outer, text: line.slice(0, candidate.index) } } : head;
  }
  return null;
}

function wrappedPrefix(text: string): OuterPrefix {
  const container = containerName.exec(text);
  return { kind: 'wrapped', text, ...(container ? { program: container[1] as string } : {}) };
}

/**
 * A continuation line without its own oslo header, with the wrapper of its record removed: the
 * unprefixed lines of a foreign traceback or an embedded newline, as the shipper read them behind
 * the same journald or container prefix as the record's first line.
 */
export function stripOuterPrefix(rawLine: string, outer: OuterPrefix | null): string {
  const line = stripAnsi(rawLine);
  if (outer === null) return line;
  if (outer.kind === 'syslog') {
    const m = syslogPrefix.exec(line);
    return m ? line.slice(m[0].length) : line;
  }
  // the record's own wrapper minus its trailing timestamps: `2025-05-14T07:09:45.785Z [neutron-server] `
  const bracket = outer.text.indexOf('] ');
  if (bracket !== -1) {
    const wrapper = outer.text.slice(0, bracket + 2);
    const shape = wrapper.replace(/\d/g, '0');
    const head = line.slice(0, wrapper.length);
    if (head.replace(/\d/g, '0') === shape) return line.slice(wrapper.length);
  }
  return line;
}

/** Whether the line starts like a new log record: an oslo header, or at least a date-time or syslog time at its very start. */
export function startsLikeRecord(rawLine: string): boolean {
  const line = stripAnsi(rawLine);
  return /^(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d|[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d )/.test(line);
}
