import type { KafkaBackendName as Backend } from '../pipeline/config/types.js';
import { RegistryClient } from '../pipeline/registry/client.js';
import { registerDomainSchemas, useRegistry } from '../pipeline/registry/domain-values.js';
import { registryApplies } from '../pipeline/registry/in-use.js';
import { ratio, type CaseResult, type ToolRow } from './results.js';
import type { BenchWorld } from './world.js';

/**
 * How the domain values of a measured stage are framed: as Tally's defaults frame them (through the
 * schema registry beside the local Kafka: the Confluent wire format) or bare Avro with the fingerprint
 * header (as before the registry, `registry.enabled: false`). Where a registry applies, the transform
 * and sink cases run both in the same rounds, so what the registry costs is a ratio of one run (#14:
 * within 5 %).
 */
export type ValueFraming = 'default' | 'bare';

/** Both framings where this bench's Kafka has a registry; the default (bare Avro there) only otherwise. */
export const framings = (world: BenchWorld): ValueFraming[] => (registryApplies(world.config) ? ['default', 'bare'] : ['default']);

/** The stage configuration section that selects the framing. */
export const framingConfig = (framing: ValueFraming): Record<string, unknown> => (framing === 'bare' ? { registry: { enabled: false } } : {});

/** The tool name of a Tally stage row: the default framing needs no word. */
export const framedTool = (stage: string, backend: Backend, framing: ValueFraming): string => `${stage} (${backend}${framing === 'bare' ? ', bare Avro' : ''})`;

export const framingDetail = (world: BenchWorld, framing: ValueFraming): string =>
  framing === 'bare' || !registryApplies(world.config)
    ? `values bare Avro with the fingerprint header${framing === 'bare' ? ' (registry.enabled: false), as before the schema registry' : ' (no schema registry beside this Kafka)'}`
    : 'values in the Confluent wire format, writer schemas by id from the local schema registry (cached)';

/**
 * Domain records made in this process with the given framing: the registry's ids registered under
 * `<topic>-value` first (outside the clock), as the transform does when it starts.
 */
export async function framedRecords<T>(world: BenchWorld, framing: ValueFraming, topics: { physical: string; logical: string }[], make: () => T): Promise<T> {
  if (framing === 'bare' || !registryApplies(world.config)) return make();
  useRegistry(new RegistryClient(world.config.registry));
  try {
    await registerDomainSchemas(topics);
    return make();
  } finally {
    useRegistry(undefined);
  }
}

/** registry / bare Avro for each backend, on the figure that matters for the case. */
export function registryCostRatios(result: CaseResult, stage: string, label: string, pick: (row: ToolRow) => ToolRow['eventsPerSecond'], backends: readonly Backend[]): void {
  const row = (tool: string) => result.rows.find((r) => r.tool === tool && r.status === 'ok');
  for (const backend of backends) {
    const registry = row(framedTool(stage, backend, 'default'));
    const bare = row(framedTool(stage, backend, 'bare'));
    if (registry && bare) result.ratios.push(ratio(`${label} (${backend}) with the schema registry / bare Avro`, registry, bare, pick, { text: '≥ 0.95 × bare Avro (the registry costs at most 5 %)', threshold: 0.95 }));
  }
}
