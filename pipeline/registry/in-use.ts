import type { TallyConfig } from '../config/types.js';
import { localBootstrap } from '../services/kafka-topology.js';
import { localRegistryUrl, normaliseRegistryUrl } from '../services/registry-topology.js';
import { RegistryClient } from './client.js';
import { useRegistry } from './domain-values.js';

/**
 * Whether domain values go through a schema registry: never with `registry.enabled: false`; always
 * with a `registry.url` of one's own; with the local registry only beside the local Kafka (it keeps
 * its schemas there, so with an external Kafka and no registry.url there is none, and values stay
 * bare Avro).
 */
export function registryApplies(config: TallyConfig): boolean {
  if (!config.registry.enabled) return false;
  const localRegistry = normaliseRegistryUrl(config.registry.url) === localRegistryUrl(config.services.registry);
  const local = new Set(localBootstrap(config.services.kafka));
  const localKafka = config.kafka.brokers.length > 0 && config.kafka.brokers.every((broker) => local.has(broker));
  return !localRegistry || localKafka;
}

/** Set up this process's domain values from the configuration; the registry's URL when one is used. */
export function useConfiguredRegistry(config: TallyConfig): string | undefined {
  if (!registryApplies(config)) {
    useRegistry(undefined);
    return undefined;
  }
  useRegistry(new RegistryClient(config.registry));
  return config.registry.url;
}
