import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { indexPattern } from '../../connectors/sinks/elasticsearch/index-name.js';
import { familyMappings, mappedFields, templateSet } from '../../connectors/sinks/elasticsearch/templates.js';
import { projectRoot } from '../../pipeline/paths.js';
import { accountingReport } from '../../pipeline/report/accounting.js';
import { parseNdjson, type SavedObjectLine } from '../../pipeline/setup/kibana.js';

const objects = parseNdjson(readFileSync(path.join(projectRoot, 'schemas/kibana/accounting.ndjson'), 'utf8'));
const byKey = new Map(objects.map((o) => [`${o.type}/${o.id}`, o]));
const ofType = (type: string): SavedObjectLine[] => objects.filter((o) => o.type === type);
const fields = mappedFields(familyMappings(templateSet('accounting-usage', { prefix: 'tally-', layout: 'monthly', ilm: false })).properties);

interface LensColumn {
  operationType: string;
  sourceField?: string;
  params?: { orderBy?: { type: string; columnId?: string } };
}
interface LensLayer {
  columnOrder: string[];
  columns: Record<string, LensColumn>;
}
interface LensState {
  datasourceStates: { formBased: { layers: Record<string, LensLayer> } };
  visualization: { layers?: { layerId: string; accessors: string[]; xAccessor?: string; splitAccessor?: string }[]; layerId?: string; columns?: { columnId: string }[] };
}

const lensLayers = (lens: SavedObjectLine): [string, LensLayer][] => Object.entries((lens.attributes.state as LensState).datasourceStates.formBased.layers);
const json = (object: SavedObjectLine, attribute: string): unknown => {
  const value = attribute.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], object.attributes);
  assert.equal(typeof value, 'string', `${object.type} ${object.id}: ${attribute} is a JSON string, as Kibana exports it`);
  return JSON.parse(value as string);
};

/** The fields a saved object reads from the documents. */
function fieldsRead(object: SavedObjectLine): string[] {
  if (object.type === 'lens') return lensLayers(object).flatMap(([, layer]) => Object.values(layer.columns).flatMap((c) => (c.sourceField && c.sourceField !== '___records___' ? [c.sourceField] : [])));
  if (object.type === 'search') return [...(object.attributes.columns as string[]), ...(object.attributes.sort as [string, string][]).map(([field]) => field)];
  return [];
}

test('every line is a saved object with a unique type/id, migration versions and references', () => {
  assert.equal(byKey.size, objects.length, 'no duplicate type/id');
  assert.deepEqual([...new Set(objects.map((o) => o.type))].sort(), ['dashboard', 'index-pattern', 'lens', 'search']);
  for (const object of objects) {
    assert.ok(object.id && object.attributes && Array.isArray(object.references), `${object.type} ${object.id}`);
    assert.equal(object.coreMigrationVersion, '8.8.0', `${object.id} coreMigrationVersion`);
    assert.match(String(object.typeMigrationVersion), /^8\.\d+\.\d+$/, `${object.id} typeMigrationVersion`);
  }
});

test('every reference resolves to an object in the file', () => {
  for (const object of objects) {
    for (const reference of object.references) assert.ok(byKey.has(`${reference.type}/${reference.id}`), `${object.type} ${object.id} → ${reference.type} ${reference.id} (${reference.name})`);
  }
});

test('the data view: the template\'s index pattern, timestamp as time field, string-encoded attributes', () => {
  const [dataView] = ofType('index-pattern');
  assert.ok(dataView);
  assert.equal(dataView.attributes.title, indexPattern('tally-', 'accounting-usage'));
  assert.deepEqual(templateSet('accounting-usage', { prefix: 'tally-', layout: 'monthly', ilm: false }).indexTemplate.index_patterns, [dataView.attributes.title]);
  assert.equal(dataView.attributes.timeFieldName, 'timestamp');
  assert.equal(fields.get('timestamp'), 'date');
  for (const attribute of ['fieldAttrs', 'fieldFormatMap', 'runtimeFieldMap', 'sourceFilters']) json(dataView, attribute);
});

test('the dashboard: each panel by reference, each reference used by a panel', () => {
  const [dashboard] = ofType('dashboard');
  assert.ok(dashboard);
  assert.equal(dashboard.attributes.title, 'Accounting overview');
  json(dashboard, 'optionsJSON');
  json(dashboard, 'kibanaSavedObjectMeta.searchSourceJSON');
  const panels = json(dashboard, 'panelsJSON') as { type: string; panelIndex: string; panelRefName: string; gridData: { i: string } }[];
  assert.deepEqual(panels.map((p) => p.panelIndex), ['usage-by-measure', 'top-users', 'top-services', 'top-resources', 'actions-by-type', 'recent']);
  for (const panel of panels) {
    assert.equal(panel.gridData.i, panel.panelIndex);
    const reference: SavedObjectLine['references'][number] | undefined = dashboard.references.find((r) => r.name === `${panel.panelIndex}:${panel.panelRefName}`);
    assert.ok(reference, `panel ${panel.panelIndex} has its reference`);
    assert.equal(reference.type, panel.type);
  }
  assert.equal(dashboard.references.length, panels.length);
});

test('lens: each layer references the data view; accessors name columns; the column order lists them all', () => {
  const lenses = ofType('lens');
  assert.equal(lenses.length, 5);
  for (const lens of lenses) {
    assert.equal(typeof lens.attributes.state, 'object', 'lens state is an object, not a string');
    const state = lens.attributes.state as LensState;
    for (const [layerId, layer] of lensLayers(lens)) {
      const reference = lens.references.find((r) => r.name === `indexpattern-datasource-layer-${layerId}`);
      assert.equal(reference?.type, 'index-pattern', `${lens.id} layer ${layerId}`);
      assert.deepEqual([...layer.columnOrder].sort(), Object.keys(layer.columns).sort(), `${lens.id} columnOrder`);
      for (const column of Object.values(layer.columns)) {
        const orderBy = column.params?.orderBy;
        if (orderBy?.type === 'column') assert.ok(orderBy.columnId && layer.columns[orderBy.columnId], `${lens.id} orders by an existing column`);
      }
      const used = [...(state.visualization.layers ?? []).flatMap((l) => [...l.accessors, l.xAccessor, l.splitAccessor]), ...(state.visualization.columns ?? []).map((c) => c.columnId)].filter((c): c is string => c !== undefined);
      for (const columnId of used) assert.ok(layer.columns[columnId], `${lens.id} visualization uses column ${columnId}`);
    }
  }
});

test('every field a panel uses exists in the template mapping, with a type its operation can aggregate', () => {
  const allowed: Record<string, string[]> = { terms: ['keyword'], sum: ['double', 'long'], date_histogram: ['date'], count: [] };
  for (const lens of ofType('lens')) {
    for (const [, layer] of lensLayers(lens)) {
      for (const column of Object.values(layer.columns)) {
        if (!column.sourceField || column.sourceField === '___records___') continue;
        const type = fields.get(column.sourceField);
        assert.ok(type, `${lens.id}: ${column.sourceField} is mapped`);
        assert.ok(allowed[column.operationType]?.includes(type), `${lens.id}: ${column.operationType} on ${column.sourceField} (${type})`);
      }
    }
  }
  for (const search of ofType('search')) {
    for (const field of fieldsRead(search)) assert.ok(fields.has(field), `${search.id}: ${field} is mapped`);
    const source = json(search, 'kibanaSavedObjectMeta.searchSourceJSON') as { indexRefName: string };
    assert.equal(search.references.find((r) => r.name === source.indexRefName)?.type, 'index-pattern');
  }
});

test('each report panel mirrors its dashboard panel: the same saved object reads the same fields', () => {
  const [dashboard] = ofType('dashboard');
  const panelObjects = new Set(dashboard?.references.map((r) => r.id));
  for (const panel of accountingReport.panels) {
    assert.ok(panelObjects.has(panel.savedObject), `tally report accounting ${panel.name} has a dashboard panel (${panel.savedObject})`);
    const object = objects.find((o) => o.id === panel.savedObject);
    assert.ok(object);
    assert.deepEqual([...new Set(fieldsRead(object))].sort(), [...panel.fields].sort(), `${panel.name} reads what ${object.id} reads`);
  }
  assert.equal(accountingReport.panels.length, panelObjects.size, 'every dashboard panel has a report');
});
