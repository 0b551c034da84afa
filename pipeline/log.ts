import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

const secretPaths = ['*.password', '*.token', '*.apiKey', '*.api_key', 'password', 'token', 'apiKey', 'authorization', '*.authorization'];

/** JSON logs on stderr; pretty when stderr is a terminal and pino-pretty is installed. */
export function createLogger(level: string, options: { pretty?: boolean; name?: string } = {}): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const base: LoggerOptions = {
    level,
    name: options.name ?? 'tally',
    redact: { paths: secretPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base, pino.destination({ dest: 2, sync: false }));
}
