import kafkajs from 'kafkajs';

/** Topic administration and end offsets for the benchmark itself (not on any measured path). */
export class BenchKafka {
  private readonly admin: kafkajs.Admin;
  private connected: Promise<void> | undefined;
  /** every topic this run created, deleted at the end */
  readonly created = new Set<string>();

  constructor(readonly brokers: string[]) {
    const client = new kafkajs.Kafka({ clientId: 'tally-bench', brokers, logLevel: kafkajs.logLevel.NOTHING });
    this.admin = client.admin();
  }

  private async ready(): Promise<kafkajs.Admin> {
    this.connected ??= this.admin.connect();
    await this.connected;
    return this.admin;
  }

  /** Create topics (all the same shape, so every tool of a case writes to the same kind of topic). */
  async createTopics(topics: string[], partitions: number): Promise<void> {
    const admin = await this.ready();
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
    for (const topic of topics) this.created.add(topic);
  }

  /** Sum of the partitions' end offsets (high watermarks): acknowledged (acks=all) messages in the topic. */
  async endOffsets(topic: string): Promise<number> {
    const admin = await this.ready();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.reduce((sum, o) => sum + Number(o.high), 0);
    } catch {
      return 0; // not created yet
    }
  }

  /** Topics whose names start with the prefix (a stage creates its own topics under its prefix). */
  async topicsWithPrefix(prefix: string): Promise<string[]> {
    const admin = await this.ready();
    return (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = await this.ready();
    await admin.deleteTopics({ topics, timeout: 30_000 }).catch(() => undefined);
    for (const topic of topics) this.created.delete(topic);
  }

  /** Delete every topic of a run's prefixes and the consumer groups it used. */
  async deletePrefixes(prefixes: string[], groups: string[] = []): Promise<void> {
    const admin = await this.ready();
    const all = await admin.listTopics();
    await this.deleteTopics(all.filter((t) => prefixes.some((p) => t.startsWith(p))));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
  }
}
