import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../../pipeline/paths.js';
import type { IndexLayout } from './layout.js';

export const templateDir = path.join(projectRoot, 'schemas/elasticsearch');
const prefixPlaceholder = /\{\{prefix\}\}/g;

export interface ComponentTemplate {
  name: string;
  version?: number;
  _meta?: Record<string, unknown>;
  template: { settings?: Record<string, unknown>; mappings?: Mappings };
}

export interface IndexTemplate {
  name: string;
  index_patterns: string[];
  composed_of: string[];
  priority: number;
  version?: number;
  data_stream?: Record<string, never>;
  _meta?: Record<string, unknown>;
}

export interface Mappings {
  dynamic?: string;
  properties: Record<string, MappedField>;
  [setting: string]: unknown;
}

export interface MappedField {
  type?: string;
  properties?: Record<string, MappedField>;
  fields?: Record<string, MappedField>;
  [parameter: string]: unknown;
}

export interface LifecyclePolicy {
  name: string;
  policy: { phases: Record<string, unknown>; _meta?: Record<string, unknown> };
}

/** Everything one index family needs in Elasticsearch, in install order: policy, components, index template. */
export interface TemplateSet {
  lifecyclePolicy?: LifecyclePolicy;
  componentTemplates: ComponentTemplate[];
  indexTemplate: IndexTemplate;
}

interface TemplateFile {
  component_templates: ComponentTemplate[];
  index_template: IndexTemplate;
  lifecycle_policies: Record<IndexLayout, { phases: Record<string, unknown>; _meta?: Record<string, unknown> }>;
}

/** schemas/elasticsearch/<base>.template.json with the index prefix filled in. */
export function readTemplateFile(indexBase: string, prefix: string): TemplateFile {
  const text = readFileSync(path.join(templateDir, `${indexBase}.template.json`), 'utf8');
  return JSON.parse(text.replace(prefixPlaceholder, prefix)) as TemplateFile;
}

/**
 * The template set for a layout on a cluster with or without ILM. The file holds what never varies;
 * a data stream adds @timestamp and `data_stream: {}`, ILM adds a component naming the policy (an
 * index.lifecycle.* setting on a node without ILM is an unknown setting, refused).
 */
export function templateSet(indexBase: string, options: { prefix: string; layout: IndexLayout; ilm: boolean }): TemplateSet {
  const file = readTemplateFile(indexBase, options.prefix);
  const name = file.index_template.name;
  const componentTemplates = [...file.component_templates];
  if (options.layout === 'data-stream') {
    componentTemplates.push({ name: `${name}-data-stream`, _meta: { managed_by: 'tally' }, template: { mappings: { properties: { '@timestamp': { type: 'date' } } } } });
  }
  let lifecyclePolicy: LifecyclePolicy | undefined;
  if (options.ilm) {
    lifecyclePolicy = { name, policy: file.lifecycle_policies[options.layout] };
    componentTemplates.push({ name: `${name}-lifecycle`, _meta: { managed_by: 'tally' }, template: { settings: { 'index.lifecycle.name': name } } });
  }
  const indexTemplate: IndexTemplate = {
    ...file.index_template,
    composed_of: componentTemplates.map((c) => c.name),
    ...(options.layout === 'data-stream' ? { data_stream: {} } : {}),
  };
  return { ...(lifecyclePolicy ? { lifecyclePolicy } : {}), componentTemplates, indexTemplate };
}

/** The merged mappings of an index family (later components win, as in Elasticsearch). */
export function familyMappings(set: TemplateSet): Mappings {
  const merged: Mappings = { properties: {} };
  for (const component of set.componentTemplates) {
    const mappings = component.template.mappings;
    if (!mappings) continue;
    const { properties, ...rest } = mappings;
    Object.assign(merged, rest);
    Object.assign(merged.properties, properties);
  }
  return merged;
}

/** Every mapped field as a dotted path with its type (objects are not listed, their leaves are; multi-fields as a.b). */
export function mappedFields(properties: Record<string, MappedField>, prefix = ''): Map<string, string> {
  const fields = new Map<string, string>();
  for (const [name, field] of Object.entries(properties)) {
    const fieldPath = `${prefix}${name}`;
    if (field.properties) for (const [p, t] of mappedFields(field.properties, `${fieldPath}.`)) fields.set(p, t);
    else fields.set(fieldPath, field.type ?? 'object');
    for (const [sub, subField] of Object.entries(field.fields ?? {})) fields.set(`${fieldPath}.${sub}`, subField.type ?? 'object');
  }
  return fields;
}
