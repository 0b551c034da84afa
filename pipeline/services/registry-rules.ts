import type { CompatibilityLevel } from '../config/types.js';
import { TallyError } from '../errors.js';
import { registryRequest, type RegistryAccess, type RegistryResponse } from './registry-http.js';

function explain(response: RegistryResponse): string {
  const message = (response.body as { message?: unknown } | undefined)?.message;
  return `HTTP ${response.status}${typeof message === 'string' ? ` (${message})` : ''}`;
}

/** The registry's global compatibility level (`GET /config`; Confluent calls the field compatibilityLevel). */
export async function globalCompatibility(access: RegistryAccess): Promise<string> {
  const response = await registryRequest(access, 'GET', '/config');
  const body = response.body as { compatibilityLevel?: unknown; compatibility?: unknown } | undefined;
  const level = body?.compatibilityLevel ?? body?.compatibility;
  if (response.status !== 200 || typeof level !== 'string') {
    throw new TallyError('SERVICE_START', `the registry at ${access.url} did not say its global compatibility level: GET /config answered ${explain(response)}`);
  }
  return level;
}

/**
 * Make `level` the registry's global compatibility level (`PUT /config`) unless it already is, and
 * read it back: the level a registry stored earlier wins over the one it was started with.
 */
export async function applyGlobalCompatibility(access: RegistryAccess, level: CompatibilityLevel): Promise<void> {
  if ((await globalCompatibility(access)) === level) return;
  const response = await registryRequest(access, 'PUT', '/config', { compatibility: level });
  if (response.status !== 200) {
    throw new TallyError('SERVICE_START', `the registry at ${access.url} refused the global compatibility level ${level} (services.registry.compatibility): PUT /config answered ${explain(response)}`);
  }
  const now = await globalCompatibility(access);
  if (now !== level) {
    throw new TallyError('SERVICE_START', `the registry at ${access.url} accepted the global compatibility level ${level} (services.registry.compatibility) but reports ${now}`);
  }
}
