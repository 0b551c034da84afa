import { readdirSync, readFileSync } from 'node:fs';

/** One reading of a process from /proc: CPU time (user + system, all threads) and memory. */
export interface ProcSample {
  atMs: number;
  cpuSeconds: number;
  rssBytes: number;
  /** VmHWM: the peak resident set so far */
  peakRssBytes: number;
}

/** Kernel clock ticks per second (USER_HZ); 100 on every Linux this runs on. */
const ticksPerSecond = 100;

/** Read /proc/<pid>/stat and /proc/<pid>/status; undefined once the process is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const atMs = performance.now();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name, which is in parentheses and may hold spaces
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { atMs, cpuSeconds: (utime + stime) / ticksPerSecond, rssBytes: kilobytes(status, 'VmRSS') * 1024, peakRssBytes: kilobytes(status, 'VmHWM') * 1024 };
  } catch {
    return undefined;
  }
}

/** The process's descendants (children of every thread, recursively), from /proc/<pid>/task/<tid>/children. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      for (const child of text ? text.split(' ').map(Number) : []) found.push(child, ...descendants(child));
    }
  } catch {
    /* gone */
  }
  return found;
}

/** A process and its descendants together: CPU and memory summed. */
export function sampleTree(pid: number): ProcSample | undefined {
  const root = sampleProcess(pid);
  if (!root) return undefined;
  for (const child of descendants(pid)) {
    const s = sampleProcess(child);
    if (!s) continue;
    root.cpuSeconds += s.cpuSeconds;
    root.rssBytes += s.rssBytes;
    root.peakRssBytes += s.peakRssBytes;
  }
  return root;
}

/** Children's user + system seconds from the second line of bash's `times` builtin ("0m1.234s 0m0.056s"). */
export function childTimesSeconds(output: string): number | undefined {
  const lines = output.trim().split('\n').filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l.trim()));
  const last = lines[lines.length - 1];
  if (!last) return undefined;
  return last
    .trim()
    .split(' ')
    .map((part) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(part);
      return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
    })
    .reduce((a, b) => a + b, 0);
}

function kilobytes(status: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}

/** This process's own CPU seconds (user + system), for in-process loops. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}
