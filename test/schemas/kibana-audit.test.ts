import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { indexPattern } from '../../connectors/sinks/elasticsearch/index-name.js';
import { familyMappings, mappedFields, templateSet } from '../../connectors/sinks/elasticsearch/templates.js';
import { indexedTopic } from '../../connectors/sinks/elasticsearch/topics.js';
import { projectRoot } from '../../pipeline/paths.js';
import { auditReport, hourlyActivityWindow } from '../../pipeline/report/audit.js';
import { opsReport } from '../../pipeline/report/ops.js';
import type { ReportFamily } from '../../pipeline/report/panel.js';
import { requestStorySearch, requestsListing } from '../../pipeline/report/requests.js';
import { parseNdjson, shippedIndexPrefix, type SavedObjectLine } from '../../pipeline/setup/kibana.js';
import { typeMigrationVersions } from './kibana-versions.js';

/**
 * schemas/kibana/audit.ndjson and ops-logs.ndjson, checked as test/schemas/kibana.test.ts checks the
 * accounting objects: references resolve, every field a panel reads is mapped with a type its
 * operation can use (KQL queries and column filters included), and each `tally report` query reads
 * what its panel reads.
 */

interface LensColumn {
  operationType: string;
  sourceField?: string;
  references?: string[];
  filter?: { language: string; query: string };
  params?: { orderBy?: { type: string; columnId?: string }; sortField?: string; interval?: string; includeEmptyRows?: boolean };
}
interface LensLayer {
  columnOrder: string[];
  columns: Record<string, LensColumn>;
}
interface LensState {
  datasourceStates: { formBased: { layers: Record<string, LensLayer> } };
  query: { language: string; query: string };
  visualization: { layers?: { layerId: string; accessors: string[]; xAccessor?: string; splitAccessor?: string }[]; columns?: { columnId: string }[]; metricAccessor?: string };
}

const lensLayers = (lens: SavedObjectLine): [string, LensLayer][] => Object.entries((lens.attributes.state as LensState).datasourceStates.formBased.layers);
const json = (object: SavedObjectLine, attribute: string): unknown => {
  const value = attribute.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], object.attributes);
  assert.equal(typeof value, 'string', `${object.type} ${object.id}: ${attribute} is a JSON string, as Kibana exports it`);
  return JSON.parse(value as string);
};
/** the fields a KQL query names: `a.b : "x" or c >= 30` → a.b, c */
const kqlFields = (query: string | undefined): string[] => [...(query ?? '').matchAll(/([A-Za-z_][\w.]*)\s*(?::|>=|<=|>|<)/g)].map((m) => m[1] as string);
const searchQuery = (search: SavedObjectLine): string => (json(search, 'kibanaSavedObjectMeta.searchSourceJSON') as { query: { query: string } }).query.query;

/** Every field a saved object reads: source fields, column filters and the object's own query. */
function fieldsRead(object: SavedObjectLine): string[] {
  if (object.type === 'lens') {
    const state = object.attributes.state as LensState;
    const columns = lensLayers(object).flatMap(([, layer]) => Object.values(layer.columns));
    return [...columns.flatMap((c) => [...(c.sourceField && c.sourceField !== '___records___' ? [c.sourceField] : []), ...kqlFields(c.filter?.query)]), ...kqlFields(state.query.query)];
  }
  if (object.type === 'search') return [...(object.attributes.columns as string[]), ...(object.attributes.sort as [string, string][]).map(([field]) => field), ...kqlFields(searchQuery(object))];
  return [];
}

/** A panel of a dashboard and the query that answers it on the command line. */
interface Mirror {
  name: string;
  savedObject: string;
  fields: string[];
}

interface Dashboard {
  file: string;
  /** the ES sink's topic whose saved objects these are */
  topic: string;
  title: string;
  panels: string[];
  family: ReportFamily;
  /** dashboard panels answered outside the family (the requests commands) */
  others: Mirror[];
}

const dashboards: Dashboard[] = [
  { file: 'audit', topic: 'audit.events', title: 'Audit', panels: ['active-users', 'largest-users', 'hourly-activity', 'failures-by-user', 'tenant-operations', 'trail'], family: auditReport, others: [] },
  {
    file: 'ops-logs',
    topic: 'ops.logs',
    title: 'Requests',
    panels: ['requests', 'request-story', 'warnings', 'exceptions-rollout', 'api-latency'],
    family: opsReport,
    others: [{ name: 'tally report requests', ...requestsListing }],
  },
];

const allowed: Record<string, string[]> = {
  terms: ['keyword'],
  count: [],
  unique_count: ['keyword'],
  date_histogram: ['date'],
  percentile: ['double', 'long', 'integer'],
  min: ['date', 'double', 'long', 'integer'],
  max: ['date', 'double', 'long', 'integer'],
  last_value: ['keyword'],
};

for (const { file, topic, title, panels: panelOrder, family, others } of dashboards) {
  describe(`schemas/kibana/${file}.ndjson`, () => {
    const objects = parseNdjson(readFileSync(path.join(projectRoot, `schemas/kibana/${file}.ndjson`), 'utf8'));
    const byKey = new Map(objects.map((o) => [`${o.type}/${o.id}`, o]));
    const ofType = (type: string): SavedObjectLine[] => objects.filter((o) => o.type === type);
    const baseOf = (dataView: SavedObjectLine): string => String(dataView.attributes.title).slice(shippedIndexPrefix.length, -'-*'.length);
    const dataViewOf = (object: SavedObjectLine): SavedObjectLine => {
      const ids = new Set(object.references.filter((r) => r.type === 'index-pattern').map((r) => r.id));
      assert.equal(ids.size, 1, `${object.id} reads one data view`);
      const found = byKey.get(`index-pattern/${[...ids][0]}`);
      assert.ok(found, `${object.id}'s data view is in the file`);
      return found;
    };
    const fieldsOf = (dataView: SavedObjectLine) => mappedFields(familyMappings(templateSet(baseOf(dataView), { prefix: shippedIndexPrefix, layout: 'monthly', ilm: false })).properties);
    const [dashboard] = ofType('dashboard');
    const dashboardPanels = new Map(dashboard?.references.map((r) => [r.id, r.type]));

    test('the sink names this file for its topic; every line a saved object with a unique type/id, migration versions and references', () => {
      assert.equal(indexedTopic(topic).savedObjects, file);
      assert.equal(byKey.size, objects.length, 'no duplicate type/id');
      assert.deepEqual([...new Set(objects.map((o) => o.type))].sort(), ['dashboard', 'index-pattern', 'lens', 'search']);
      for (const object of objects) {
        assert.ok(object.id && object.attributes && Array.isArray(object.references), `${object.type} ${object.id}`);
        assert.equal(object.coreMigrationVersion, '8.8.0', `${object.id} coreMigrationVersion`);
        assert.equal(object.typeMigrationVersion, typeMigrationVersions[object.type], `${object.type} ${object.id} typeMigrationVersion`);
        for (const reference of object.references) assert.ok(byKey.has(`${reference.type}/${reference.id}`), `${object.type} ${object.id} → ${reference.type} ${reference.id} (${reference.name})`);
      }
    });

    test("the data view: the template's index pattern, the family's time field, string-encoded attributes", () => {
      const views = ofType('index-pattern');
      assert.equal(views.length, 1);
      for (const dataView of views) {
        const base = baseOf(dataView);
        assert.equal(base, indexedTopic(topic).indexBase);
        assert.equal(dataView.attributes.title, indexPattern(shippedIndexPrefix, base));
        assert.deepEqual(templateSet(base, { prefix: shippedIndexPrefix, layout: 'monthly', ilm: false }).indexTemplate.index_patterns, [dataView.attributes.title]);
        assert.equal(dataView.attributes.timeFieldName, family.timeField);
        assert.equal(fieldsOf(dataView).get(family.timeField), 'date');
        for (const attribute of ['fieldAttrs', 'fieldFormatMap', 'runtimeFieldMap', 'sourceFilters']) json(dataView, attribute);
      }
    });

    test(`the "${title}" dashboard: each panel by reference, each reference used by a panel`, () => {
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
      assert.equal(objects.length, 2 + panels.length, 'nothing in the file that the dashboard does not show');
    });

    test('lens: each layer references the data view; the visualization uses existing columns; the column order lists them all', () => {
      for (const lens of ofType('lens')) {
        assert.equal(typeof lens.attributes.state, 'object', 'lens state is an object, not a string');
        const state = lens.attributes.state as LensState;
        assert.equal(state.query.language, 'kuery');
        for (const [layerId, layer] of lensLayers(lens)) {
          assert.equal(lens.references.find((r) => r.name === `indexpattern-datasource-layer-${layerId}`)?.type, 'index-pattern', `${lens.id} layer ${layerId}`);
          assert.deepEqual([...layer.columnOrder].sort(), Object.keys(layer.columns).sort(), `${lens.id} columnOrder`);
          for (const column of Object.values(layer.columns)) {
            const orderBy = column.params?.orderBy;
            if (orderBy?.type === 'column') assert.ok(orderBy.columnId && layer.columns[orderBy.columnId], `${lens.id} orders by an existing column`);
          }
          const visualization = state.visualization;
          const used = [...(visualization.layers ?? []).flatMap((l) => [...l.accessors, l.xAccessor, l.splitAccessor]), ...(visualization.columns ?? []).map((c) => c.columnId), visualization.metricAccessor].filter((c): c is string => c !== undefined);
          assert.ok(used.length > 0, `${lens.id} shows something`);
          for (const columnId of used) assert.ok(layer.columns[columnId], `${lens.id} visualization uses column ${columnId}`);
        }
      }
    });

    test("every field a panel reads exists in the template's mapping, with a type its operation can aggregate", () => {
      for (const lens of ofType('lens')) {
        const fields = fieldsOf(dataViewOf(lens));
        for (const field of fieldsRead(lens)) assert.ok(fields.has(field), `${lens.id}: ${field} is mapped`);
        for (const [, layer] of lensLayers(lens)) {
          for (const column of Object.values(layer.columns)) {
            if (column.params?.sortField) assert.equal(fields.get(column.params.sortField), 'date', `${lens.id} sorts by a date`);
            if (!column.sourceField || column.sourceField === '___records___') continue;
            const type = fields.get(column.sourceField) as string;
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

    test("a date histogram with a fixed interval keeps it: its buckets over the range it is drawn in (the panel's own, else the dashboard's) stay within histogram:maxBars (100)", () => {
      const hours: Record<string, number> = { h: 1, d: 24 };
      const span = (from: string, to: string): number => {
        const match = /^now-(\d+)([hd])$/.exec(from);
        assert.ok(match && to === 'now', `a range of now-<n>h or now-<n>d to now, not ${from} to ${to}`);
        return Number(match[1]) * (hours[match[2] as string] as number);
      };
      const panels = json(dashboard as SavedObjectLine, 'panelsJSON') as { panelIndex: string; panelRefName: string; embeddableConfig: { timeRange?: { from: string; to: string } } }[];
      for (const panel of panels) {
        const lens = byKey.get(`lens/${dashboard?.references.find((r) => r.name === `${panel.panelIndex}:${panel.panelRefName}`)?.id}`);
        const histograms = lens ? lensLayers(lens).flatMap(([, layer]) => Object.values(layer.columns)).filter((c) => c.operationType === 'date_histogram' && c.params?.interval !== 'auto') : [];
        for (const histogram of histograms) {
          const range = panel.embeddableConfig.timeRange ?? { from: String(dashboard?.attributes.timeFrom), to: String(dashboard?.attributes.timeTo) };
          const interval = hours[histogram.params?.interval ?? ''];
          assert.ok(interval, `${lens?.id}: interval ${histogram.params?.interval} is h or d`);
          assert.ok(span(range.from, range.to) / interval <= 100, `${lens?.id}: ${range.from} to ${range.to} in ${histogram.params?.interval} buckets exceeds histogram:maxBars, Kibana would widen them`);
        }
      }
    });

    test('each report query mirrors its dashboard panel: the same saved object reads the same fields of the same index family', () => {
      const mirrors: Mirror[] = [...family.panels, ...others];
      for (const mirror of mirrors) {
        assert.ok(dashboardPanels.has(mirror.savedObject), `${mirror.name} has a dashboard panel (${mirror.savedObject})`);
        const object = byKey.get(`${dashboardPanels.get(mirror.savedObject)}/${mirror.savedObject}`);
        assert.ok(object);
        assert.deepEqual([...new Set(fieldsRead(object))].sort(), [...new Set(mirror.fields)].sort(), `${mirror.name} reads what ${object.id} reads`);
        assert.equal(baseOf(dataViewOf(object)), family.indexBase);
      }
      const story = file === 'ops-logs' ? [requestStorySearch.savedObject] : [];
      assert.deepEqual([...dashboardPanels.keys()].filter((id) => !mirrors.some((m) => m.savedObject === id)), story, 'every other dashboard panel has a report');
    });
  });
}

test("the request story search: every event of one request, oldest first, with the fields tally report request prints for a log event", () => {
  const objects = parseNdjson(readFileSync(path.join(projectRoot, 'schemas/kibana/ops-logs.ndjson'), 'utf8'));
  const story = objects.find((o) => o.id === requestStorySearch.savedObject);
  assert.ok(story);
  assert.deepEqual(story.attributes.sort, [['timestamp', 'asc']]);
  assert.equal(searchQuery(story), '', 'the user types the request into the query bar');
  for (const field of ['service.name', 'process.name', 'host.name', 'log.level', 'transaction_id', 'trace_id', 'message', 'error_stack_trace']) assert.ok((story.attributes.columns as string[]).includes(field), field);
  assert.match(String(story.attributes.description), /transaction_id : "req-…" or trace_id : "req-…"/);
});

test('Hourly activity shows the hours tally report audit hourly-activity gives: its own last 4 days, 1-hour buckets, hours without events left out', () => {
  const objects = parseNdjson(readFileSync(path.join(projectRoot, 'schemas/kibana/audit.ndjson'), 'utf8'));
  const dashboard = objects.find((o) => o.type === 'dashboard') as SavedObjectLine;
  const panel = (json(dashboard, 'panelsJSON') as { panelIndex: string; embeddableConfig: { timeRange?: { from: string; to: string } } }[]).find((p) => p.panelIndex === 'hourly-activity');
  assert.deepEqual(panel?.embeddableConfig.timeRange, { from: `now-${hourlyActivityWindow}`, to: 'now' }, 'the panel draws the window the report queries');
  const lens = objects.find((o) => o.id === 'tally-audit-hourly-activity') as SavedObjectLine;
  const [hour] = lensLayers(lens).flatMap(([, layer]) => Object.values(layer.columns)).filter((c) => c.operationType === 'date_histogram');
  assert.deepEqual(hour?.params, { dropPartials: false, includeEmptyRows: false, interval: 'h' });
  const search = auditReport.panels.find((p) => p.name === 'hourly-activity')?.search({ from: 'now-30d', to: 'now', size: 10, interval: '1d' });
  assert.deepEqual((search?.aggs?.window as { filter: unknown }).filter, { range: { timestamp: { gte: `now-${hourlyActivityWindow}` } } });
  assert.deepEqual((search?.aggs?.window as { aggs: { hour: { date_histogram: unknown } } }).aggs.hour.date_histogram, { field: 'timestamp', calendar_interval: 'hour', min_doc_count: 1 });
});
