import { Command } from 'commander';
import { loadConfig } from '../../pipeline/config/load.js';
import type { TallyConfig } from '../../pipeline/config/types.js';
import { createLogger, type Logger } from '../../pipeline/log.js';
import { useConfiguredRegistry } from '../../pipeline/registry/in-use.js';

export interface GlobalOptions {
  config?: string;
  set?: string[];
  brokers?: string;
  esUrl?: string;
  backend?: string;
  logLevel?: string;
  opsPort?: string;
}

export interface CommandContext {
  config: TallyConfig;
  log: Logger;
}

/** Global flags become --set overrides, so they pass through the same schema validation as the file. */
export function contextFrom(command: Command): CommandContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  const sets = [...(options.set ?? [])];
  if (options.brokers) sets.push(`kafka.brokers=${JSON.stringify(options.brokers.split(',').map((b) => b.trim()))}`);
  if (options.esUrl) sets.push(`elasticsearch.url=${options.esUrl}`);
  if (options.backend) sets.push(`kafka.backend=${options.backend}`);
  if (options.logLevel) sets.push(`log.level=${options.logLevel}`);
  if (options.opsPort) sets.push(`ops.port=${options.opsPort}`);
  const config = loadConfig({ ...(options.config ? { file: options.config } : process.env.TALLY_CONFIG ? { file: process.env.TALLY_CONFIG } : {}), sets });
  const log = createLogger(config.log.level, config.log.pretty === undefined ? {} : { pretty: config.log.pretty });
  // domain values in the Confluent wire format through the schema registry, or bare Avro without one
  useConfiguredRegistry(config);
  return { config, log };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
