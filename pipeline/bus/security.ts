import { readFileSync } from 'node:fs';
import type { KafkaConfig } from '../config/types.js';

/** Secrets come from the config or from files, and are never logged. */
export function saslPassword(config: KafkaConfig): string | undefined {
  const sasl = config.sasl;
  if (!sasl) return undefined;
  if (sasl.passwordFile) return readFileSync(sasl.passwordFile, 'utf8').trim();
  return sasl.password ?? process.env.TALLY_KAFKA_PASSWORD;
}

export function readOptional(file: string | undefined): Buffer | undefined {
  return file ? readFileSync(file) : undefined;
}
