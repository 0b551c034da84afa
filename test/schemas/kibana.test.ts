import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { indexPattern } from '../../connectors/sinks/elasticsearch/index-name.js';
import { familyMappings, mappedFields, templateSet } from '../../connectors/sinks/elasticsearch/templates.js';
import { projectRoot } from '../../pipeline/paths.js';
import { accountingReport } from '../../pipeline/report/accounting.js';
import { cloudReport } from '../../pipeline/report/cloud.js';
import type { ReportFamily } from '../../pipeline/report/panel.js';
import { parseNdjson, shippedIndexPrefix, type SavedObjectLine } from '../../pipeline/setup/kibana.js';
import { typeMigrationVersions } from './kibana-versions.js';

interface LensColumn {
  operationType: string;
  sourceField?: string;
  references?: string[];
  filter?: { language: string; query: string };
  params?: { orderBy?: { type: string; columnId?: string }; formula?: string; tinymathAst?: { args: unknown[] } };
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
/** the field a KQL column filter such as `running: true` reads */
const filterField = (column: LensColumn): string[] => (column.filter ? [/^\s*([\w.]+)\s*:/.exec(column.filter.query)?.[1] ?? `unparsed KQL ${column.filter.query}`] : []);

/** The fields a saved object reads from the documents: source fields (formula parts included) and column filters. */
function fieldsRead(object: SavedObjectLine): string[] {
  if (object.type === 'lens') {
    return lensLayers(object).flatMap(([, layer]) => Object.values(layer.columns).flatMap((c) => [...(c.sourceField && c.sourceField !== '___records___' ? [c.sourceField] : []), ...filterField(c)]));
  }
  if (object.type === 'search') return [...(object.attributes.columns as string[]), ...(object.attributes.sort as [string, string][]).map(([field]) => field)];
  return [];
}

interface Dashboard {
  file: string;
  title: string;
  types: string[];
  panels: string[];
  report: ReportFamily;
}

const dashboards: Dashboard[] = [
  { file: 'accounting', title: 'Accounting overview', types: ['dashboard', 'index-pattern', 'lens', 'search'], panels: ['usage-by-measure', 'top-users', 'top-services', 'top-resources', 'actions-by-type', 'recent'], report: accountingReport },
  {
    file: 'cloud-usage',
    title: 'Cloud usage',
    types: ['dashboard', 'index-pattern', 'lens'],
    panels: ['usage-over-time', 'hours-by-vo', 'hours-by-project', 'hours-by-site', 'top-vos', 'cpu-efficiency', 'running-vms', 'accelerator-hours', 'storage-capacity', 'public-ips', 'energy-usage'],
    report: cloudReport,
  },
];

for (const { file, title, types, panels: panelOrder, report } of dashboards) {
  describe(`schemas/kibana/${file}.ndjson`, () => {
    const objects = parseNdjson(readFileSync(path.join(projectRoot, `schemas/kibana/${file}.ndjson`), 'utf8'));
    const byKey = new Map(objects.map((o) => [`${o.type}/${o.id}`, o]));
    const ofType = (type: string): SavedObjectLine[] => objects.filter((o) => o.type === type);
    /** the index base a data view shows: its title is the template's pattern <prefix><base>-* */
    const baseOf = (dataView: SavedObjectLine): string => String(dataView.attributes.title).slice(shippedIndexPrefix.length, -'-*'.length);
    const dataViewOf = (object: SavedObjectLine): SavedObjectLine => {
      const ids = new Set(object.references.filter((r) => r.type === 'index-pattern').map((r) => r.id));
      assert.equal(ids.size, 1, `${object.id} reads one data view`);
      const found = byKey.get(`index-pattern/${[...ids][0]}`);
      assert.ok(found, `${object.id}'s data view is in the file`);
      return found;
    };
    const fieldsOf = (dataView: SavedObjectLine) => mappedFields(familyMappings(templateSet(baseOf(dataView), { prefix: shippedIndexPrefix, layout: 'monthly', ilm: false })).properties);

    test('every line is a saved object with a unique type/id, migration versions and references', () => {
      assert.equal(byKey.size, objects.length, 'no duplicate type/id');
      assert.deepEqual([...new Set(objects.map((o) => o.type))].sort(), types);
      for (const object of objects) {
        assert.ok(object.id && object.attributes && Array.isArray(object.references), `${object.type} ${object.id}`);
        assert.equal(object.coreMigrationVersion, '8.8.0', `${object.id} coreMigrationVersion`);
        assert.equal(object.typeMigrationVersion, typeMigrationVersions[object.type], `${object.type} ${object.id} typeMigrationVersion`);
      }
    });

    test('every reference resolves to an object in the file', () => {
      for (const object of objects) {
        for (const reference of object.references) assert.ok(byKey.has(`${reference.type}/${reference.id}`), `${object.type} ${object.id} → ${reference.type} ${reference.id} (${reference.name})`);
      }
    });

    test("the data views: each a template's index pattern, the family's time field, string-encoded attributes", () => {
      for (const dataView of ofType('index-pattern')) {
        const base = baseOf(dataView);
        assert.equal(dataView.attributes.title, indexPattern(shippedIndexPrefix, base));
        assert.deepEqual(templateSet(base, { prefix: shippedIndexPrefix, layout: 'monthly', ilm: false }).indexTemplate.index_patterns, [dataView.attributes.title]);
        assert.equal(dataView.attributes.timeFieldName, report.timeField);
        assert.equal(fieldsOf(dataView).get(report.timeField), 'date');
        for (const attribute of ['fieldAttrs', 'fieldFormatMap', 'runtimeFieldMap', 'sourceFilters']) json(dataView, attribute);
      }
    });

    test('the dashboard: each panel by reference, each reference used by a panel', () => {
      const [dashboard] = ofType('dashboard');
      assert.ok(dashboard);
      assert.equal(dashboard.attributes.title, title);
      json(dashboard, 'optionsJSON');
      json(dashboard, 'kibanaSavedObjectMeta.searchSourceJSON');
      const panels = json(dashboard, 'panelsJSON') as { type: string; panelIndex: string; panelRefName: string; gridData: { i: string } }[];
      assert.deepEqual(panels.map((p) => p.panelIndex), panelOrder);
      for (const panel of panels) {
        assert.equal(panel.gridData.i, panel.panelIndex);
        const reference: SavedObjectLine['references'][number] | undefined = dashboard.references.find((r) => r.name === `${panel.panelIndex}:${panel.panelRefName}`);
        assert.ok(reference, `panel ${panel.panelIndex} has its reference`);
        assert.equal(reference.type, panel.type);
      }
      assert.equal(dashboard.references.length, panels.length);
    });

    test('lens: each layer references the data view; accessors name columns; the column order lists them all; formulas are expanded', () => {
      const lenses = ofType('lens');
      assert.equal(lenses.length, ofType('dashboard')[0]?.references.filter((r) => r.type === 'lens').length);
      for (const lens of lenses) {
        assert.equal(typeof lens.attributes.state, 'object', 'lens state is an object, not a string');
        const state = lens.attributes.state as LensState;
        for (const [layerId, layer] of lensLayers(lens)) {
          const reference = lens.references.find((r) => r.name === `indexpattern-datasource-layer-${layerId}`);
          assert.equal(reference?.type, 'index-pattern', `${lens.id} layer ${layerId}`);
          assert.deepEqual([...layer.columnOrder].sort(), Object.keys(layer.columns).sort(), `${lens.id} columnOrder`);
          for (const [columnId, column] of Object.entries(layer.columns)) {
            const orderBy = column.params?.orderBy;
            if (orderBy?.type === 'column') assert.ok(orderBy.columnId && layer.columns[orderBy.columnId], `${lens.id} orders by an existing column`);
            for (const referenced of column.references ?? []) assert.ok(layer.columns[referenced], `${lens.id} ${columnId} references ${referenced}`);
            if (column.operationType === 'formula') {
              // Kibana saves a formula with its parts: sum(x) columns and the math over them
              const named = [...(column.params?.formula ?? '').matchAll(/sum\(([\w.]+)\)/g)].map((m) => m[1]);
              const parts = Object.entries(layer.columns).filter(([id]) => id.startsWith(`${columnId}X`));
              assert.deepEqual(parts.flatMap(([, c]) => (c.sourceField ? [c.sourceField] : [])), named, `${lens.id} ${columnId}: the parts sum what the formula names`);
              const math = layer.columns[column.references?.[0] ?? ''];
              assert.equal(math?.operationType, 'math');
              assert.deepEqual(math?.params?.tinymathAst?.args, math?.references);
            }
          }
          const used = [...(state.visualization.layers ?? []).flatMap((l) => [...l.accessors, l.xAccessor, l.splitAccessor]), ...(state.visualization.columns ?? []).map((c) => c.columnId)].filter((c): c is string => c !== undefined);
          for (const columnId of used) assert.ok(layer.columns[columnId], `${lens.id} visualization uses column ${columnId}`);
        }
      }
    });

    test("every field a panel uses exists in its data view's template mapping, with a type its operation can aggregate", () => {
      const allowed: Record<string, string[]> = { terms: ['keyword'], sum: ['double', 'long', 'integer'], date_histogram: ['date'], count: [] };
      for (const lens of ofType('lens')) {
        const fields = fieldsOf(dataViewOf(lens));
        for (const [, layer] of lensLayers(lens)) {
          for (const column of Object.values(layer.columns)) {
            for (const field of filterField(column)) assert.ok(fields.has(field), `${lens.id}: the filter's ${field} is mapped`);
            if (!column.sourceField || column.sourceField === '___records___') continue;
            const type = fields.get(column.sourceField);
            assert.ok(type, `${lens.id}: ${column.sourceField} is mapped`);
            assert.ok(allowed[column.operationType]?.includes(type), `${lens.id}: ${column.operationType} on ${column.sourceField} (${type})`);
          }
        }
      }
      for (const search of ofType('search')) {
        const fields = fieldsOf(dataViewOf(search));
        for (const field of fieldsRead(search)) assert.ok(fields.has(field), `${search.id}: ${field} is mapped`);
        const source = json(search, 'kibanaSavedObjectMeta.searchSourceJSON') as { indexRefName: string };
        assert.equal(search.references.find((r) => r.name === source.indexRefName)?.type, 'index-pattern');
      }
    });

    test('each report panel mirrors its dashboard panel: the same saved object reads the same fields of the same index family', () => {
      const [dashboard] = ofType('dashboard');
      const panelObjects = new Map(dashboard?.references.map((r) => [r.id, r.type]));
      for (const panel of report.panels) {
        assert.ok(panelObjects.has(panel.savedObject), `tally report ${report.name} ${panel.name} has a dashboard panel (${panel.savedObject})`);
        const object = byKey.get(`${panelObjects.get(panel.savedObject)}/${panel.savedObject}`);
        assert.ok(object);
        assert.deepEqual([...new Set(fieldsRead(object))].sort(), [...new Set(panel.fields)].sort(), `${panel.name} reads what ${object.id} reads`);
        assert.equal(baseOf(dataViewOf(object)), panel.indexBase ?? report.indexBase, `${panel.name} queries the index family ${object.id} shows`);
      }
      assert.equal(report.panels.length, panelObjects.size, 'every dashboard panel has a report');
    });
  });
}
