import { readFileSync } from 'node:fs';
import { TallyError } from '../../../pipeline/errors.js';

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
  /** body bytes all requests in flight may hold together before new ones get 503 (maxConcurrentRequests × maxBodyBytes would be 640 MB by default) */
  maxInFlightBytes: number;
  retryAfterSeconds: number;
  /** a request's headers must all arrive within this (slow-loris guard; node's headersTimeout) */
  headersTimeoutMs: number;
  /** a whole request, body included, must arrive within this (node's requestTimeout) */
  requestTimeoutMs: number;
  /** a kept-alive connection with no request in progress is closed after this */
  keepAliveTimeoutMs: number;
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
  maxInFlightBytes: 64 * 1024 * 1024,
  retryAfterSeconds: 1,
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
};

/**
 * The token from a file, the config or TALLY_HTTP_TOKEN; never logged, never in an error message.
 * An empty one is refused: it would otherwise switch authentication off without a word.
 */
export function bearerToken(config: Pick<HttpSourceConfig, 'bearerToken' | 'bearerTokenFile'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let token: string | undefined;
  let from: string;
  if (config.bearerTokenFile) {
    from = `http.bearerTokenFile ${config.bearerTokenFile}`;
    try {
      token = readFileSync(config.bearerTokenFile, 'utf8').trim();
    } catch (error) {
      throw new TallyError('CONFIG_INVALID', `${from}: cannot read the token file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else if (config.bearerToken !== undefined) {
    from = 'http.bearerToken';
    token = config.bearerToken.trim();
  } else {
    from = 'TALLY_HTTP_TOKEN';
    token = env.TALLY_HTTP_TOKEN?.trim();
    if (env.TALLY_HTTP_TOKEN === undefined) return undefined;
  }
  if (!token) throw new TallyError('CONFIG_INVALID', `${from}: the bearer token is empty; give a token or remove the setting to serve without one`);
  return token;
}
