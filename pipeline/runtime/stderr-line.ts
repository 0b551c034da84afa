import { writeSync } from 'node:fs';

/** One JSON log line on stderr, written before this returns: for the last words of a process about to be SIGKILLed, which an asynchronous logger would not flush. */
export function writeStderrLineNow(level: number, fields: Record<string, unknown>, msg: string): void {
  writeSync(2, `${JSON.stringify({ level, time: new Date().toISOString(), pid: process.pid, name: 'tally', ...fields, msg })}\n`);
}
