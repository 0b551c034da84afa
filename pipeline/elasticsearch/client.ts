import { readFileSync } from 'node:fs';
import { Client } from '@elastic/elasticsearch';
import type { ElasticsearchConfig } from '../config/types.js';

/** One client per process; credentials from the config or from files, never logged. */
export function createEsClient(config: ElasticsearchConfig): Client {
  const apiKey = config.apiKeyFile ? readFileSync(config.apiKeyFile, 'utf8').trim() : config.apiKey;
  const password = config.passwordFile ? readFileSync(config.passwordFile, 'utf8').trim() : config.password;
  return new Client({
    node: config.url,
    requestTimeout: config.requestTimeoutMs,
    maxRetries: 0,
    ...(apiKey ? { auth: { apiKey } } : config.username ? { auth: { username: config.username, password: password ?? '' } } : {}),
    ...(config.caFile ? { tls: { ca: readFileSync(config.caFile) } } : {}),
  });
}

export function authHeaders(config: ElasticsearchConfig): Record<string, string> {
  const apiKey = config.apiKeyFile ? readFileSync(config.apiKeyFile, 'utf8').trim() : config.apiKey;
  if (apiKey) return { authorization: `ApiKey ${apiKey}` };
  if (config.username) {
    const password = config.passwordFile ? readFileSync(config.passwordFile, 'utf8').trim() : (config.password ?? '');
    return { authorization: `Basic ${Buffer.from(`${config.username}:${password}`).toString('base64')}` };
  }
  return {};
}
