import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { TallyConfig } from '../pipeline/config/types.js';
import { projectRoot } from '../pipeline/paths.js';
import { BenchKafka } from './kafka.js';
import { BenchElasticsearch } from './elasticsearch.js';
import type { Sizes } from './sizes.js';

/**
 * One benchmark run: its id (in every topic, group and index name, so nothing is shared with other
 * engineers or earlier runs), its folder under bench/runs/ (git-ignored: corpora, logs, profiles),
 * and the clients the benchmark uses to watch Kafka and Elasticsearch.
 */
export class BenchWorld {
  readonly id: string;
  readonly dir: string;
  readonly kafka: BenchKafka;
  readonly es: BenchElasticsearch;
  private counter = 0;
  /** every topic prefix and index prefix handed out, for the final clean-up */
  readonly topicPrefixes: string[] = [];
  readonly indexPrefixes: string[] = [];
  readonly groups: string[] = [];

  constructor(
    readonly config: TallyConfig,
    readonly sizes: Sizes,
    readonly quick: boolean,
  ) {
    const now = new Date();
    this.id = `${now.toISOString().slice(0, 16).replace(/[-:T]/g, '')}${Math.floor(Math.random() * 1296).toString(36).padStart(2, '0')}`;
    this.dir = path.join(projectRoot, 'bench', 'runs', `${this.id}${quick ? '-quick' : ''}`);
    for (const sub of ['corpus', 'logs', 'profiles', 'work']) mkdirSync(path.join(this.dir, sub), { recursive: true });
    this.kafka = new BenchKafka(config.kafka.brokers);
    this.es = new BenchElasticsearch(config.elasticsearch.url);
  }

  /** A fresh name for one measured run: `bench-<run>-<case>-<n>` (topics get a trailing dot, indices a dash). */
  name(label: string): string {
    this.counter += 1;
    return `bench-${this.id}-${label}-${this.counter}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  }

  topicPrefix(label: string): string {
    const prefix = `${this.name(label)}.`;
    this.topicPrefixes.push(prefix);
    return prefix;
  }

  indexPrefix(label: string): string {
    const prefix = `${this.name(label)}-`;
    this.indexPrefixes.push(prefix);
    return prefix;
  }

  group(label: string): string {
    const group = this.name(`group-${label}`);
    this.groups.push(group);
    return group;
  }

  logFile(label: string): string {
    this.counter += 1;
    return path.join(this.dir, 'logs', `${String(this.counter).padStart(3, '0')}-${label}.log`);
  }

  workDir(label: string): string {
    const dir = path.join(this.dir, 'work', this.name(label));
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /**
   * A Tally configuration file for one stage process. Every stage of the benchmark uses the same
   * Kafka settings: the defaults, except compression none (so kcat, rsyslog, syslog-ng and both
   * backends compress alike: not at all) and warn-level logs.
   */
  tallyConfig(label: string, sections: Record<string, unknown>): string {
    const given = (sections.kafka ?? {}) as Record<string, unknown>;
    const kafka = { brokers: this.config.kafka.brokers, compression: 'none', ...given };
    const content = {
      log: { level: 'warn', pretty: false },
      topics: { partitions: this.sizes.partitions },
      ...sections,
      kafka,
      elasticsearch: { url: this.config.elasticsearch.url, ...(sections.elasticsearch as Record<string, unknown> | undefined) },
    };
    const file = path.join(this.workDir(`config-${label}`), 'tally.yaml');
    writeFileSync(file, stringify(content));
    return file;
  }

  async cleanUp(): Promise<void> {
    await this.kafka.deletePrefixes(this.topicPrefixes, this.groups).catch(() => undefined);
    for (const prefix of this.indexPrefixes) {
      await this.es.deleteIndices(`${prefix}*`).catch(() => undefined);
      await this.es.deleteTemplates(prefix).catch(() => undefined);
    }
    await this.kafka.close().catch(() => undefined);
  }
}

export const benchUser = { name: 'nobody', uid: 65_534, gid: 65_534 };

export function machine(): { cpus: number; cpuModel: string; memoryGiB: number; kernel: string; node: string; v8: string } {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}
