import { readFileSync } from 'node:fs';

export interface HttpSourceConfig {
  host: string;
  port: number;
  /** kind used by POST / ; POST /ingest/<kind> names it explicitly */
  defaultKind: string;
  kinds: string[];
  maxBodyBytes: number;
  maxHeaderBytes: number;
  /** requests being written to Kafka at once before new ones get 503 */
  maxConcurrentRequests: number;
  retryAfterSeconds: number;
  bearerToken?: string;
  bearerTokenFile?: string;
  tls?: { certFile: string; keyFile: string; caFile?: string; clientCertificates: 'none' | 'optional' | 'required' };
}

export const defaultHttpSourceConfig: HttpSourceConfig = {
  host: '127.0.0.1',
  port: 8080,
  defaultKind: 'accounting',
  kinds: ['accounting', 'caso-json', 'apel-message', 'ror-audit', 'openstack-audit', 'oslo-log'],
  maxBodyBytes: 10 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxConcurrentRequests: 64,
  retryAfterSeconds: 1,
};

/** The token from the config, a file, or TALLY_HTTP_TOKEN; never logged. */
export function bearerToken(config: HttpSourceConfig): string | undefined {
  if (config.bearerTokenFile) return readFileSync(config.bearerTokenFile, 'utf8').trim();
  return config.bearerToken ?? process.env.TALLY_HTTP_TOKEN;
}
