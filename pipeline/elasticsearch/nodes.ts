/** `elasticsearch.url` may list several nodes of one cluster, separated by commas. */
export function esUrls(url: string): string[] {
  return url
    .split(',')
    .map((u) => u.trim().replace(/\/$/, ''))
    .filter(Boolean);
}

/** Ask each node in turn until one answers (a node of the cluster may be down). */
export async function fromAnyNode<T>(url: string, ask: (nodeUrl: string) => Promise<T>): Promise<T> {
  let failure: unknown;
  for (const nodeUrl of esUrls(url)) {
    try {
      return await ask(nodeUrl);
    } catch (error) {
      failure = error;
    }
  }
  throw failure ?? new Error(`no Elasticsearch node in ${url}`);
}
