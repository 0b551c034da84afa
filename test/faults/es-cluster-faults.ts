import { setTimeout as sleep } from 'node:timers/promises';
import type { Fault } from './faults.js';
import type { FaultPipeline } from './pipeline.js';

const downMs = 10_000;

interface EsShardRow {
  index?: string;
  prirep?: string;
  node?: string | null;
}

/** The elected master and, per node, the pipeline's primary and replica shards (node names are tally-es-<n>). */
async function shardLayout(pipeline: FaultPipeline): Promise<{ master: number; nodes: Map<number, { primaries: number; replicas: number }> }> {
  const idOf = (name: string | null | undefined): number => Number(/tally-es-(\d+)/.exec(name ?? '')?.[1] ?? 0);
  const [masters, shards] = await Promise.all([
    pipeline.es.cat.master({ format: 'json' }) as Promise<{ node?: string }[]>,
    pipeline.es.cat.shards({ index: `${pipeline.world.indexPrefix}*`, format: 'json' }) as Promise<EsShardRow[]>,
  ]);
  const nodes = new Map<number, { primaries: number; replicas: number }>([
    [1, { primaries: 0, replicas: 0 }],
    [2, { primaries: 0, replicas: 0 }],
  ]);
  for (const shard of shards) {
    const counts = nodes.get(idOf(shard.node));
    if (counts && shard.prirep === 'p') counts.primaries += 1;
    if (counts && shard.prirep === 'r') counts.replicas += 1;
  }
  return { master: idOf(masters[0]?.node), nodes };
}

/**
 * SIGKILL of one node of a two-node Elasticsearch cluster while the sinks write, the node started
 * again 10 s later. Even trials kill the elected master (with two master-eligible nodes only one
 * votes, so the cluster has no master and refuses writes until it is back), odd trials the other
 * node (its primaries' replicas on the master are promoted and writes go on).
 */
export const esNodeSigkill: Fault = {
  id: 'es-node-sigkill',
  description: `SIGKILL of one node of a two-node Elasticsearch cluster (Tally's indices with one replica; the stages list both nodes) while the sink writes, started again ${downMs / 1000} s later; the elected master in every other trial`,
  exclusive: true,
  esNodes: 2,
  async inject({ pipeline, trial }) {
    const layout = await shardLayout(pipeline);
    const target = trial % 2 === 0 ? layout.master : layout.master === 1 ? 2 : 1;
    const held = layout.nodes.get(target) ?? { primaries: 0, replicas: 0 };
    const replicas = [...layout.nodes.values()].reduce((sum, n) => sum + n.replicas, 0);
    await pipeline.services.esNode.kill(target);
    await sleep(downMs);
    await pipeline.services.esNode.start(target);
    return {
      restoredAt: Date.now(),
      note: `node ${target} (${target === layout.master ? 'the elected master' : 'not master'}) killed, holding ${held.primaries} primary and ${held.replicas} replica shard(s) of the pipeline's indices; ${replicas} replica shard(s) in all`,
    };
  },
};
