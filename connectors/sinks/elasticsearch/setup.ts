import { errors, type Client } from '@elastic/elasticsearch';
import { capabilitiesFrom, type EsCapabilities } from '../../../pipeline/elasticsearch/capabilities.js';
import { TallyError, messageOf } from '../../../pipeline/errors.js';
import { dataStreamName, indexPattern } from './index-name.js';
import { resolveLayout, type IndexLayout } from './layout.js';
import { familyMappings, templateSet } from './templates.js';
import type { IndexedTopic } from './topics.js';

/** What `tally setup` (and the sink at start) installed, to print. */
export interface TemplateInstall {
  layout: IndexLayout;
  capabilities: Pick<EsCapabilities, 'version' | 'dataStreams' | 'ilm'>;
  lifecyclePolicies: { name: string; action: 'created' | 'kept' }[];
  componentTemplates: string[];
  indexTemplates: { name: string; patterns: string[] }[];
  /** existing indices whose mapping got the template's fields (so a field added later is indexed there too) */
  updatedIndices: string[];
  /** existing indices whose mapping cannot take the template's (a type changed); documents there may be refused */
  mappingConflicts: { index: string; reason: string }[];
}

/** The node's modules through the sink's own client (its TLS and credentials), since GET / is absent on the integ-test build. */
export async function clusterCapabilities(client: Client): Promise<EsCapabilities> {
  const response = await esCall('reading the node modules', () =>
    client.nodes.info({ node_id: '_local', metric: 'plugins', filter_path: ['nodes.*.version', 'nodes.*.modules.name', 'nodes.*.plugins.name'] }),
  );
  return capabilitiesFrom(response as Parameters<typeof capabilitiesFrom>[0]);
}

/**
 * Install the index families of the given topics, idempotently: component and index templates are
 * replaced (they are Tally's contract with its own documents), an ILM policy is created when missing
 * but never overwritten (retention is the operator's), and indices that already exist get the
 * template's mappings added.
 */
export async function installIndexTemplates(client: Client, options: { prefix: string; layout: IndexLayout; topics: readonly IndexedTopic[]; capabilities?: EsCapabilities }): Promise<TemplateInstall> {
  const capabilities = options.capabilities ?? (await clusterCapabilities(client));
  const layout = resolveLayout(options.layout, capabilities);
  const install: TemplateInstall = {
    layout,
    capabilities: { version: capabilities.version, dataStreams: capabilities.dataStreams, ilm: capabilities.ilm },
    lifecyclePolicies: [],
    componentTemplates: [],
    indexTemplates: [],
    updatedIndices: [],
    mappingConflicts: [],
  };
  const bases = [...new Set(options.topics.map((t) => t.indexBase))];
  for (const base of bases) {
    const set = templateSet(base, { prefix: options.prefix, layout, ilm: capabilities.ilm });
    if (set.lifecyclePolicy) {
      const { name, policy } = set.lifecyclePolicy;
      const exists = await esCall(`reading ILM policy ${name}`, () => client.ilm.getLifecycle({ name }).then(() => true, (error: unknown) => (isNotFound(error) ? false : Promise.reject(error))));
      if (!exists) await esCall(`creating ILM policy ${name}`, () => client.ilm.putLifecycle({ name, policy: policy as never }));
      install.lifecyclePolicies.push({ name, action: exists ? 'kept' : 'created' });
    }
    for (const component of set.componentTemplates) {
      const { name, ...body } = component;
      await esCall(`installing component template ${name}`, () => client.cluster.putComponentTemplate({ name, ...(body as object) } as never));
      install.componentTemplates.push(name);
    }
    const { name, ...body } = set.indexTemplate;
    await esCall(`installing index template ${name}`, () => client.indices.putIndexTemplate({ name, ...(body as object) } as never));
    install.indexTemplates.push({ name, patterns: body.index_patterns });

    const mappings = familyMappings(set);
    // a data stream takes a mapping update by its name (it reaches the backing indices)
    const target = layout === 'data-stream' ? dataStreamName(options.prefix, base) : indexPattern(options.prefix, base);
    const existing = await esCall(`listing indices ${target}`, () =>
      client.indices.get({ index: target, allow_no_indices: true, ignore_unavailable: true, expand_wildcards: 'open', filter_path: ['*.settings.index.provided_name'] }),
    );
    const names = Object.keys(existing ?? {}).sort();
    for (const index of layout === 'data-stream' ? (names.length ? [target] : []) : names) {
      try {
        await client.indices.putMapping({ index, ...(mappings as object) } as never);
        install.updatedIndices.push(index);
      } catch (error) {
        if (!(error instanceof errors.ResponseError) || (error.statusCode ?? 0) >= 500) throw retriable(`updating the mapping of ${index}`, error);
        install.mappingConflicts.push({ index, reason: responseReason(error) });
      }
    }
  }
  return install;
}

async function esCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof errors.ResponseError && (error.statusCode ?? 0) < 500 && error.statusCode !== 429 && error.statusCode !== 408) {
      throw new TallyError('ES_PERMANENT', `${what}: Elasticsearch answered ${error.statusCode}: ${responseReason(error)}`, { cause: error });
    }
    throw retriable(what, error);
  }
}

function retriable(what: string, error: unknown): TallyError {
  return new TallyError('ES_RETRIABLE', `${what}: ${error instanceof errors.ResponseError ? `Elasticsearch answered ${error.statusCode}: ${responseReason(error)}` : messageOf(error)}`, { cause: error });
}

function isNotFound(error: unknown): boolean {
  return error instanceof errors.ResponseError && error.statusCode === 404;
}

function responseReason(error: errors.ResponseError): string {
  const body = error.body as { error?: { type?: string; reason?: string; caused_by?: { reason?: string } } } | undefined;
  const parts = [body?.error?.type, body?.error?.reason, body?.error?.caused_by?.reason].filter(Boolean);
  return parts.length ? parts.join(': ') : messageOf(error);
}

/** The install in lines a person reads. */
export function describeTemplateInstall(url: string, install: TemplateInstall): string[] {
  const lines = [
    `elasticsearch ${url} (${install.capabilities.version}): ${install.layout} layout; ILM ${install.capabilities.ilm ? 'yes' : 'no'}, data streams ${install.capabilities.dataStreams ? 'yes' : 'no'}`,
  ];
  for (const policy of install.lifecyclePolicies) lines.push(`  ILM policy          ${policy.name} (${policy.action === 'created' ? 'created' : 'kept as it is'})`);
  for (const name of install.componentTemplates) lines.push(`  component template  ${name}`);
  for (const template of install.indexTemplates) lines.push(`  index template      ${template.name} → ${template.patterns.join(', ')}`);
  for (const index of install.updatedIndices) lines.push(`  mapping updated     ${index}`);
  for (const conflict of install.mappingConflicts) lines.push(`  MAPPING CONFLICT    ${conflict.index}: ${conflict.reason}`);
  return lines;
}
