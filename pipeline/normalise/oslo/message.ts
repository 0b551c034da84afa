/**
 * What an oslo.log message says beyond its text: the DEBUG suffix (where it was logged), the error
 * summary oslo appends to WARNING-and-above lines, and the WSGI access line of API services.
 */

export interface DebugOrigin {
  message: string;
  function: string;
  file: string;
  line: number;
  /** `from (pid=2575)` (Essex) or devstack's `{{(pid=10884) …}}` */
  pid: number | null;
}

/** `… funcName /path/file.py:123`, `… from (pid=2575) funcName /path/file.py:152`, `… {{(pid=123) funcName /path/file.py:1}}` */
const debugSuffix = /^(.*?) (?:from \(pid=(\d+)\) |\{\{\(pid=(\d+)\) )?([\w.<>]+) (\S+\.py):(\d+)(\}\})?$/s;

export function debugOrigin(message: string): DebugOrigin | null {
  const m = debugSuffix.exec(message);
  if (!m) return null;
  const pid = m[2] ?? m[3];
  return { message: m[1] as string, function: m[4] as string, file: m[5] as string, line: Number(m[6]), pid: pid === undefined ? null : Number(pid) };
}

export interface ErrorSummary {
  type: string;
  message: string | null;
}

/**
 * The summary oslo appends to the message, `…: ExcType: text` or `…: pkg.ExcType`: the rightmost
 * `: ` followed by a dotted class (neutron_lib.exceptions.dns.DuplicateRecordSet, libvirt.libvirtError)
 * or a bare class whose name says it is one (AttributeError), then `: ` or the end.
 */
const summaryCandidate = /: ((?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*|[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Timeout|Failure|Fault|Warning))(?=: |$)/g;

export function errorSummary(message: string): ErrorSummary | null {
  let found: ErrorSummary | null = null;
  for (const m of message.matchAll(summaryCandidate)) {
    const type = m[1] as string;
    const end = (m.index ?? 0) + m[0].length;
    // at the very end only a class name: a dotted lowercase tail there is a path or a host name
    if (end === message.length && !/(?:^|\.)[A-Z]\w*$/.test(type) && !/Error$/.test(type)) continue;
    found = { type, message: end === message.length ? null : message.slice(end + 2) };
  }
  return found;
}

/** the last line of a Python traceback: `ExcType: text`, `pkg.ExcType: text` or a bare `ExcType` */
const exceptionLine = /^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)(?:: (.*))?$/;

export function tracebackException(stack: readonly string[]): ErrorSummary | null {
  for (let i = stack.length - 1; i >= 0; i -= 1) {
    const line = stack[i] as string;
    if (line.trim() === '') continue;
    if (/^\s/.test(line) || line.startsWith('Traceback ')) return null;
    const m = exceptionLine.exec(line);
    if (m) return { type: m[1] as string, message: m[2] ?? null };
    return null;
  }
  return null;
}

export interface WsgiAccess {
  client: string | null;
  method: string;
  path: string;
  query: string | null;
  version: string | null;
  status: number;
  bytes: number | null;
  durationMs: number | null;
  microversion: string | null;
}

/** oslo/nova/neutron: `10.0.0.1 "GET /v2.1/servers HTTP/1.1" status: 200 len: 1234 [microversion: 2.1 ]time: 0.123` */
const osloAccess = /^(?:([\w.:,% -]+?) )?"([A-Z]+) (\S+) HTTP\/(\d(?:\.\d)?)" status: (\d{3}) +len: (\d+|-)(?: +microversion: (\S+))? +time: (\d+(?:\.\d+)?)/;
/** eventlet's default: `10.0.0.1 - - [13/Dec/2014 17:12:23] "POST /v1/images HTTP/1.1" 400 396 31.553426` */
const eventletAccess = /^([\w.:,%-]+) \S+ \S+ \[[^\]]+\] "([A-Z]+) (\S+) HTTP\/(\d(?:\.\d)?)" (\d{3}) (\d+|-) (\d+(?:\.\d+)?)/;

export function wsgiAccess(message: string): WsgiAccess | null {
  const oslo = osloAccess.exec(message);
  if (oslo) return access(oslo[1], oslo[2] as string, oslo[3] as string, oslo[4], oslo[5] as string, oslo[6] as string, oslo[8] as string, oslo[7]);
  const eventlet = eventletAccess.exec(message);
  if (eventlet) return access(eventlet[1], eventlet[2] as string, eventlet[3] as string, eventlet[4], eventlet[5] as string, eventlet[6] as string, eventlet[7] as string, undefined);
  return null;
}

function access(client: string | undefined, method: string, target: string, version: string | undefined, status: string, bytes: string, seconds: string, microversion: string | undefined): WsgiAccess {
  const question = target.indexOf('?');
  const first = client?.split(',')[0]?.trim();
  const duration = Number(seconds) * 1000;
  return {
    client: first === undefined || first === '' || first === '-' ? null : first,
    method,
    path: question === -1 ? target : target.slice(0, question),
    query: question === -1 ? null : target.slice(question + 1),
    version: version ?? null,
    status: Number(status),
    bytes: bytes === '-' ? null : Number(bytes),
    // rounded to the nanosecond the text can state, so 0.2477829 s stays 247.7829 ms
    durationMs: Number.isFinite(duration) ? Math.round(duration * 1e6) / 1e6 : null,
    microversion: microversion ?? null,
  };
}
