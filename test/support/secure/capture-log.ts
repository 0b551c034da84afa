import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../../pipeline/log.js';

/** A debug-level logger without redaction that keeps every line: whatever the code logs, the test sees. */
export function capturingLogger(): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { log: pino({ level: 'trace' }, sink), text: () => lines.join('') };
}
