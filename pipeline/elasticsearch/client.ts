import { readFileSync } from 'node:fs';
import { Client, ClusterConnectionPool, errors } from '@elastic/elasticsearch';
import type { ElasticsearchConfig } from '../config/types.js';
import { TallyError, messageOf } from '../errors.js';
import { esUrls } from './nodes.js';
import { apiKeyOf, authorizationHeader, credentialsMethod, passwordOf } from '../http-credentials.js';

/** How many times elasticsearch.requestTimeoutMs one request may be given (the sinks' adaptive bulk timeout grows up to it). */
export const longestRequestTimeoutFactor = 16;

/**
 * One client per process, over every node `elasticsearch.url` lists; credentials from the config or
 * from files, never logged. Several nodes get the classic pool (dead nodes pinged back after a
 * while, and every node tried when all seem dead): the default weighted pool can answer "no living
 * connections" for ever once a dead node's failures lowered the weights (elastic/elasticsearch-js#1714;
 * seen here: the sink stuck after one node of two was SIGKILLed and came back).
 */
export function createEsClient(config: ElasticsearchConfig): Client {
  const apiKey = apiKeyOf(config, 'elasticsearch');
  const nodes = esUrls(config.url);
  return new Client({
    // undici holds every request of a connection to the connection's timeout: a request may ask for
    // less (the client's requestTimeout, below), never more. The connection's is the longest any
    // request asks for, so a sink's grown bulk timeout is not cut back to requestTimeoutMs.
    nodes: nodes.map((url) => ({ url: new URL(url), timeout: config.requestTimeoutMs * longestRequestTimeoutFactor })),
    ...(nodes.length > 1 ? { ConnectionPool: ClusterConnectionPool } : {}),
    requestTimeout: config.requestTimeoutMs,
    maxRetries: 0,
    ...(apiKey ? { auth: { apiKey } } : config.username ? { auth: { username: config.username, password: passwordOf(config, 'elasticsearch') } } : {}),
    ...(config.caFile ? { tls: { ca: readFileSync(config.caFile) } } : {}),
  });
}

export function authHeaders(config: ElasticsearchConfig): Record<string, string> {
  return authorizationHeader(config, 'elasticsearch');
}

/** How this configuration authenticates, in words that name the settings and never the secret. */
export function esAuthMethod(config: ElasticsearchConfig): string {
  return credentialsMethod(config, 'elasticsearch');
}

/** Run a call on the client; refused credentials come out as ES_AUTH, an untrusted certificate as ES_TLS. */
export async function withEsAccess<T>(config: ElasticsearchConfig, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw esAuthError(config, error) ?? esTlsError(config, error) ?? error;
  }
}

const certificateProblem = /self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate|certificate has expired|Hostname\/IP does not match certificate|ERR_TLS_CERT_ALTNAME_INVALID/i;

/** A TLS handshake the client refused (the node's certificate is not trusted) as ES_TLS; undefined for anything else. */
export function esTlsError(config: ElasticsearchConfig, error: unknown): TallyError | undefined {
  if (error instanceof TallyError && error.code === 'ES_TLS') return error;
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 6; depth += 1, current = (current as { cause?: unknown }).cause) {
    if (!certificateProblem.test(current.message)) continue;
    const advice = config.caFile ? `elasticsearch.caFile ${config.caFile} is not the CA that signed it` : 'set elasticsearch.caFile to the CA that signed it (only the system CAs are trusted now)';
    return new TallyError('ES_TLS', `TLS handshake with Elasticsearch at ${config.url} failed: its certificate is not trusted (${current.message}): ${advice}`, {
      retriable: false,
      cause: error,
      details: { url: config.url, ...(config.caFile ? { caFile: config.caFile } : {}) },
    });
  }
  return undefined;
}

/** A 401 (or a 403 on what Tally needs) as ES_AUTH, naming the URL and the method; undefined for anything else. */
export function esAuthError(config: ElasticsearchConfig, error: unknown, action?: string): TallyError | undefined {
  if (error instanceof TallyError && error.code === 'ES_AUTH') return error;
  if (error instanceof TallyError && error.cause instanceof errors.ResponseError) return esAuthError(config, error.cause, action ?? error.message.split(':')[0]);
  if (!(error instanceof errors.ResponseError)) return undefined;
  const what = action ?? 'a request';
  const status = error.statusCode;
  if (status !== 401 && status !== 403) return undefined;
  const body = error.body as { error?: { type?: string; reason?: string } } | undefined;
  const reason = [body?.error?.type, body?.error?.reason].filter(Boolean).join(': ') || `HTTP ${status}`;
  const refusal = status === 401 ? 'refused the credentials' : 'authenticated the credentials but denies this request (the role lacks a privilege)';
  return new TallyError('ES_AUTH', `${what}: Elasticsearch at ${config.url} ${refusal}, ${esAuthMethod(config)} (${status} ${reason})`, {
    retriable: false,
    cause: error,
    details: { url: config.url, status, method: config.apiKey || config.apiKeyFile ? 'apiKey' : config.username ? 'basic' : 'none' },
  });
}
