import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../../pipeline/paths.js';
import { confluentKafkaJSLoop, type ConfluentKafkaJS } from './confluent-kafkajs.js';
import { kafkajsLoop } from './kafkajs.js';
import { nativeLoop, type NativeModule } from './native.js';
import { platformaticLoop, type PlatformaticKafka } from './platformatic.js';
import type { ClientLoop } from './types.js';

/** A client the bench installs itself (bench/install-clients.sh), at an exact version, outside the project's dependencies. */
export interface CachedPackage {
  /** the install script's name for it */
  install: string;
  name: string;
  version: string;
}

export interface BenchClient {
  id: string;
  /** how the report names it */
  label: string;
  cached?: CachedPackage;
  load: () => Promise<ClientLoop>;
}

export const clientsCache = path.join(projectRoot, '.tally', 'cache', 'bench-clients');
export const installClientsScript = path.join(projectRoot, 'bench', 'install-clients.sh');

const platformatic: CachedPackage = { install: 'platformatic', name: '@platformatic/kafka', version: '1.35.0' };
const confluent: CachedPackage = { install: 'confluent', name: '@confluentinc/kafka-javascript', version: '1.10.1' };

export function cacheDir(pkg: CachedPackage): string {
  return path.join(clientsCache, `${pkg.install}-${pkg.version}`);
}

/** installed: the folder the install script marked; otherwise the reason (the install log's last lines) */
export function cachedState(pkg: CachedPackage): { installed: true } | { installed: false; reason: string } {
  const dir = cacheDir(pkg);
  if (existsSync(path.join(dir, 'installed'))) return { installed: true };
  const log = path.join(dir, 'install.log');
  if (!existsSync(log)) return { installed: false, reason: `bash bench/install-clients.sh ${pkg.install} has not run` };
  const tail = readFileSync(log, 'utf8').split('\n').filter((l) => /error|ERR|failed/i.test(l)).slice(-3).join(' | ');
  return { installed: false, reason: `install failed (${path.relative(projectRoot, log)}): ${tail.slice(0, 600)}` };
}

/** Seconds the install (for confluent: the native build) took, as the install script recorded it. */
export function installSeconds(pkg: CachedPackage): number | undefined {
  const marker = path.join(cacheDir(pkg), 'installed');
  return existsSync(marker) ? Number(readFileSync(marker, 'utf8').trim()) : undefined;
}

const requireFrom = (pkg: CachedPackage): NodeRequire => createRequire(path.join(cacheDir(pkg), 'package.json'));

/** Every client the case measures, in the order of its rounds. */
export const benchClients: readonly BenchClient[] = [
  { id: 'kafkajs', label: 'kafkajs 2.2.4 (patched)', load: async () => kafkajsLoop() },
  { id: 'node-rdkafka', label: 'node-rdkafka 3.6.1', load: async () => nativeLoop(createRequire(import.meta.url)('node-rdkafka') as NativeModule, 'node-rdkafka') },
  { id: 'platformatic', label: `@platformatic/kafka ${platformatic.version}`, cached: platformatic, load: async () => platformaticLoop((await import(pathToFileURL(requireFrom(platformatic).resolve(platformatic.name)).href)) as PlatformaticKafka) },
  { id: 'confluent-kafkajs', label: `@confluentinc/kafka-javascript ${confluent.version}, KafkaJS API`, cached: confluent, load: async () => confluentKafkaJSLoop((requireFrom(confluent)(confluent.name) as { KafkaJS: ConfluentKafkaJS }).KafkaJS) },
  { id: 'confluent-native', label: `@confluentinc/kafka-javascript ${confluent.version}, native API`, cached: confluent, load: async () => nativeLoop(requireFrom(confluent)(confluent.name) as NativeModule, '@confluentinc/kafka-javascript') },
];
