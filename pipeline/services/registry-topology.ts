import type { LocalRegistryConfig } from '../config/types.js';

export const registryHost = '127.0.0.1';

/** Where Apicurio Registry serves the Confluent Schema Registry API. */
export const ccompatPath = '/apis/ccompat/v7';

/** The local registry's Confluent API base URL: the default `registry.url`. */
export function localRegistryUrl(config: Pick<LocalRegistryConfig, 'port'>): string {
  return `http://${registryHost}:${config.port}${ccompatPath}`;
}

/** The same URL written the way people write it (no trailing slash), so two spellings of one URL compare equal. */
export function normaliseRegistryUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/**
 * The Kafka topics Apicurio's kafkasql storage uses: the journal (every change, replayed on start),
 * the snapshots, and its change events. Internal to the registry, so named like Kafka's own
 * internal topics, under Tally's `kafka.topicPrefix`.
 */
export function registryTopics(topicPrefix: string): { journal: string; snapshots: string; events: string } {
  return {
    journal: `${topicPrefix}_tally-registry-journal`,
    snapshots: `${topicPrefix}_tally-registry-snapshots`,
    events: `${topicPrefix}_tally-registry-events`,
  };
}
