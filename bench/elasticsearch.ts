/** The few Elasticsearch calls the benchmark makes itself (node fetch, no client library). */
export class BenchElasticsearch {
  constructor(readonly url: string) {}

  async request(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok && response.status !== 404) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 500)}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  /** Index operations done on the primaries of the matching indices (no refresh needed; overwrites count). */
  async indexTotal(pattern: string): Promise<number> {
    const stats = await this.request('GET', `/${encodeURIComponent(pattern)}/_stats/indexing?allow_no_indices=true&expand_wildcards=open`);
    const all = stats._all as { primaries?: { indexing?: { index_total?: number } } } | undefined;
    return all?.primaries?.indexing?.index_total ?? 0;
  }

  /** Shard bulk requests served so far on the matching indices' primaries (one per bulk request with one shard). */
  async bulkRequests(pattern: string): Promise<number> {
    const stats = await this.request('GET', `/${encodeURIComponent(pattern)}/_stats/bulk?allow_no_indices=true&expand_wildcards=open`);
    const all = stats._all as { primaries?: { bulk?: { total_operations?: number } } } | undefined;
    return all?.primaries?.bulk?.total_operations ?? 0;
  }

  /** Delete by name: the cluster refuses wildcard deletes (action.destructive_requires_name). */
  async deleteIndices(pattern: string): Promise<string[]> {
    const resolved = await this.request('GET', `/_resolve/index/${encodeURIComponent(pattern)}?expand_wildcards=open,closed`);
    const names = ((resolved.indices ?? []) as { name: string }[]).map((i) => i.name);
    for (let i = 0; i < names.length; i += 50) await this.request('DELETE', `/${names.slice(i, i + 50).map(encodeURIComponent).join(',')}`);
    return names;
  }

  /** Delete the index templates the sinks installed for a prefix. */
  async deleteTemplates(prefix: string): Promise<void> {
    const templates = await this.request('GET', `/_index_template/${encodeURIComponent(`${prefix}*`)}`).catch(() => ({}) as Record<string, unknown>);
    for (const t of (templates.index_templates ?? []) as { name: string }[]) await this.request('DELETE', `/_index_template/${encodeURIComponent(t.name)}`);
    const components = await this.request('GET', `/_component_template/${encodeURIComponent(`${prefix}*`)}`).catch(() => ({}) as Record<string, unknown>);
    for (const c of (components.component_templates ?? []) as { name: string }[]) await this.request('DELETE', `/_component_template/${encodeURIComponent(c.name)}`);
  }

  async refresh(pattern: string): Promise<void> {
    await this.request('POST', `/${encodeURIComponent(pattern)}/_refresh?allow_no_indices=true`);
  }

  async version(): Promise<string> {
    const health = await this.request('GET', '/_nodes/_local/info/process?filter_path=nodes.*.version');
    const nodes = (health.nodes ?? {}) as Record<string, { version?: string }>;
    return Object.values(nodes)[0]?.version ?? 'unknown';
  }
}
