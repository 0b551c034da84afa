import http from 'node:http';
import https from 'node:https';
import { readOptional, readSecretFile } from '../bus/security.js';
import type { RegistryConfig } from '../config/types.js';
import { normaliseRegistryUrl } from './registry-topology.js';

/** What a request to a Confluent-compatible registry needs: its API base URL, and basic auth and a CA when it has them. */
export type RegistryAccess = Pick<RegistryConfig, 'url' | 'username' | 'password' | 'passwordFile' | 'caFile' | 'requestTimeoutMs'>;

export interface RegistryResponse {
  status: number;
  /** the parsed JSON body; undefined when the body is empty or not JSON */
  body: unknown;
}

const mediaType = 'application/vnd.schemaregistry.v1+json';

function authorization(access: RegistryAccess): Record<string, string> {
  if (!access.username) return {};
  const password = access.passwordFile ? readSecretFile(access.passwordFile, 'registry.passwordFile') : (access.password ?? '');
  return { authorization: `Basic ${Buffer.from(`${access.username}:${password}`).toString('base64')}` };
}

/**
 * One request to the Confluent API below `access.url` (`path` starts with a slash: `/subjects`).
 * Resolves with any HTTP status; rejects only when no answer came (refused, timed out, TLS).
 */
export function registryRequest(access: RegistryAccess, method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<RegistryResponse> {
  const url = new URL(`${normaliseRegistryUrl(access.url)}${path}`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const ca = url.protocol === 'https:' ? readOptional(access.caFile, 'registry.caFile') : undefined;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      url,
      {
        method,
        timeout: access.requestTimeoutMs,
        headers: { accept: mediaType, ...(payload === undefined ? {} : { 'content-type': mediaType, 'content-length': Buffer.byteLength(payload) }), ...authorization(access) },
        ...(ca ? { ca } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? (JSON.parse(text) as unknown) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url.origin} within ${access.requestTimeoutMs} ms`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/** Whether the Confluent API answers `GET /subjects` with 200: what "up" means for a registry. */
export async function registryAnswers(access: RegistryAccess): Promise<boolean> {
  try {
    return (await registryRequest(access, 'GET', '/subjects')).status === 200;
  } catch {
    return false;
  }
}
