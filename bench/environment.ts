import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../pipeline/paths.js';
import type { ServiceStatus } from '../pipeline/services/index.js';
import { filebeatTool, kcatTool, rsyslogTool, syslogNgTool } from './peers/installed.js';
import { machine, type BenchWorld } from './world.js';

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function gitRevision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: projectRoot, encoding: 'utf8' }).trim().length > 0;
    return `${head}${dirty ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'unknown';
  }
}

function loadAverage(): number[] {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

/** The machine, versions and settings the report's figures hold for. */
export async function collectEnvironment(world: BenchWorld, services: ServiceStatus[]) {
  const esVersion = services.find((s) => s.name === 'elasticsearch')?.version ?? (await world.es.version().catch(() => 'unknown'));
  return {
    machine: machine(),
    loadAverageAtStart: loadAverage(),
    tally: { version: (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version, revision: gitRevision() },
    libraries: { kafkajs: packageVersion('kafkajs'), 'node-rdkafka': packageVersion('node-rdkafka'), '@elastic/elasticsearch': packageVersion('@elastic/elasticsearch'), avsc: packageVersion('avsc'), ajv: packageVersion('ajv') },
    services: {
      kafka: `Apache Kafka ${world.config.services.kafka.version} (KRaft, ${(world.config.services.kafka.brokers ?? 1) === 1 ? 'single node' : `${world.config.services.kafka.brokers} nodes`}, heap ${world.config.services.kafka.heap}) at ${world.config.kafka.brokers.join(',')}`,
      elasticsearch: `Elasticsearch ${esVersion} (single node, heap ${world.config.services.elasticsearch.heap}) at ${world.config.elasticsearch.url}`,
    },
    peers: { kcat: kcatTool()?.version ?? 'not installed', rsyslog: rsyslogTool()?.version ?? 'not installed', 'syslog-ng': syslogNgTool()?.version ?? 'not installed', filebeat: filebeatTool()?.version ?? 'not installed' },
    settings: {
      compression: 'none for every producer (Tally both backends, kcat, rsyslog, syslog-ng, Filebeat)',
      acks: 'all (-1) for every producer',
      topics: `${world.sizes.partitions} partitions, replication 1, created fresh for every run`,
    },
  };
}
