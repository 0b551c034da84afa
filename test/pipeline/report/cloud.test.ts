import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { installIndexTemplates } from '../../../connectors/sinks/elasticsearch/setup.js';
import { reportCommand } from '../../../app/cli/commands/report.js';
import { cloudReport } from '../../../pipeline/report/cloud.js';
import { runReport, type ReportParams } from '../../../pipeline/report/panel.js';
import { esClient, uniqueName } from '../../support/world.js';
import { bulkIndex, casoLine, cloudTopics, normalised, removeCloudIndices } from '../../connectors/sinks/elasticsearch/cloud-records.js';
import { casoFixture } from '../normalise/cloud-fixtures.js';

const lines = (name: string): string[] => casoFixture(name).map((l) => l.line);
const [vmA1, vmB, vmC, vmD, vmA2] = lines('cloud.ndjson') as [string, string, string, string, string];
const [ipEgi, ipExample] = lines('ip.ndjson') as [string, string];
const [gpuV100, gpuMi210] = lines('accelerator.ndjson') as [string, string];
const [dataVol, scratch] = lines('storage.ndjson') as [string, string];
const [energyEgi, energyExample] = lines('energy.ndjson') as [string, string];

/**
 * cASO's samples, March 2024, at CESGA-CLOUD: VM A (vo.access.egi.eu, 4 vCPUs, HEPSPEC06 10.5) is
 * running and reported twice with growing durations (206 then 302 CPU hours), B completed (204 CPU
 * hours), C never ran (no CPU time, 0 vCPUs), D suspended (10.5 hours). One more VM E in April at
 * another site and project (15 CPU hours of 20 core-hours, HEPSPEC06 8). Later snapshots of the month
 * replace earlier ones for the IP count, the GPU, the volume and the energy report too.
 */
const records = [
  ...[vmA1, vmB, vmC, vmD, vmA2].flatMap((line) => normalised('caso-json', line)),
  ...normalised(
    'caso-json',
    casoLine(vmB, {
      VMUUID: 'e1e2e3e4-0000-4000-8000-000000000005',
      SiteName: 'IFCA-LCG2',
      CloudComputeService: 'IFCA-LCG2-OpenStack',
      LocalGroupId: 'c0ffee00000040008000000000000005',
      MachineName: 'analysis',
      StartTime: Date.UTC(2024, 3, 2) / 1000,
      EndTime: Date.UTC(2024, 3, 2, 10) / 1000,
      WallDuration: 36_000,
      CpuDuration: 54_000,
      Benchmark: 8,
      BenchmarkType: 'HEPSPEC06',
    }),
  ),
  ...normalised('caso-json', ipEgi),
  ...normalised('caso-json', ipExample),
  ...normalised('caso-json', casoLine(ipEgi, { uuid: '0b1c2d3e-4f50-4162-8374-8596a7b8c9d0', IPCount: 5, MeasurementTime: Date.UTC(2024, 2, 21, 12) / 1000 })),
  ...normalised('caso-json', casoLine(ipExample, { uuid: '1b1c2d3e-4f50-4162-8374-8596a7b8c9d1', IPCount: 7, MeasurementTime: Date.UTC(2024, 3, 10, 12) / 1000 })),
  ...normalised('caso-json', gpuV100),
  ...normalised('caso-json', gpuMi210),
  ...normalised('caso-json', casoLine(gpuV100, { AvailableDuration: 271_800, ActiveDuration: 271_800 })),
  ...normalised('caso-json', dataVol),
  ...normalised('caso-json', scratch),
  ...normalised('caso-json', casoLine(dataVol, { Capacity: 150, CreateTime: Date.UTC(2024, 2, 21, 12) / 1000 })),
  ...normalised('caso-json', energyEgi),
  ...normalised('caso-json', energyExample),
  ...normalised('caso-json', casoLine(energyEgi, { EnergyWh: 50 })),
];
const march = '2024-03-01T00:00:00.000Z';
const april = '2024-04-01T00:00:00.000Z';
const egi = 'vo.access.egi.eu';
const example = 'vo.example.org';
const all: Partial<ReportParams> = { from: '2024-03-01T00:00:00Z', to: '2024-04-30T23:59:59Z' };

describe('tally report cloud on the real Elasticsearch', { timeout: 60_000 }, () => {
  const client = esClient();
  const prefix = `${uniqueName('tally-report-cloud')}-`;
  const report = (panel: string, params: Partial<ReportParams> = {}) => runReport(client, cloudReport, panel, { indexPrefix: prefix, params: { ...all, ...params } }).then((r) => r.rows);

  before(async () => {
    await installIndexTemplates(client, { prefix, layout: 'monthly', topics: cloudTopics() });
    await bulkIndex(client, prefix, records);
  });
  after(async () => {
    await removeCloudIndices(client, prefix);
    await client.close();
  });

  test('one document per VM and month: the VM reported twice is there once, with its latest durations', async () => {
    const { count } = await client.count({ index: `${prefix}cloud-vm-*` });
    assert.equal(count, 5);
    const vmA = await client.search<{ cpu_hours: number; wall_hours: number }>({ index: `${prefix}cloud-vm-*`, query: { term: { vm_uuid: '0f5a1b52-7d37-4a49-9f0e-3d0a5f1e2c11' } } });
    assert.deepEqual(vmA.hits.hits.map((h) => [h._index, h._source?.cpu_hours, h._source?.wall_hours]), [[`${prefix}cloud-vm-2024.03`, 302, 75.5]]);
    for (const [base, documents] of [['cloud-ip', 3], ['cloud-accelerator', 2], ['cloud-storage', 2], ['cloud-energy', 2]] as const) {
      assert.equal((await client.count({ index: `${prefix}${base}-*` })).count, documents, `${base}: a later snapshot of the month replaced the earlier`);
    }
  });

  test('usage-over-time: per month, each VM at its latest snapshot', async () => {
    assert.deepEqual(await report('usage-over-time'), [
      { period: march, vms: 4, cpu_hours: 302 + 204 + 10.5, wall_hours: 75.5 + 102 + 0 + 10.5, normalised_cpu_hours: 302 * 10.5 },
      { period: april, vms: 1, cpu_hours: 15, wall_hours: 10, normalised_cpu_hours: 15 * 8 },
    ]);
  });

  test('hours-by-vo, -project and -site: the most CPU hours first, per month', async () => {
    assert.deepEqual(await report('hours-by-vo'), [
      { vo: egi, period: march, vms: 2, cpu_hours: 312.5, wall_hours: 86, normalised_cpu_hours: 3171 },
      { vo: example, period: march, vms: 2, cpu_hours: 204, wall_hours: 102, normalised_cpu_hours: 0 },
      { vo: example, period: april, vms: 1, cpu_hours: 15, wall_hours: 10, normalised_cpu_hours: 120 },
    ]);
    assert.deepEqual(await report('hours-by-project'), [
      { local_group_id: '6f1e0b5c2a0d4c5e9b3f7a8d1c2e3f4a', period: march, vms: 2, cpu_hours: 312.5, wall_hours: 86, normalised_cpu_hours: 3171 },
      { local_group_id: '0a9b8c7d6e5f40312233445566778899', period: march, vms: 2, cpu_hours: 204, wall_hours: 102, normalised_cpu_hours: 0 },
      { local_group_id: 'c0ffee00000040008000000000000005', period: april, vms: 1, cpu_hours: 15, wall_hours: 10, normalised_cpu_hours: 120 },
    ]);
    assert.deepEqual(await report('hours-by-site'), [
      { site_name: 'CESGA-CLOUD', period: march, vms: 4, cpu_hours: 516.5, wall_hours: 188, normalised_cpu_hours: 3171 },
      { site_name: 'IFCA-LCG2', period: april, vms: 1, cpu_hours: 15, wall_hours: 10, normalised_cpu_hours: 120 },
    ]);
    assert.deepEqual((await report('hours-by-site', { size: 1 })).map((r) => r.site_name), ['CESGA-CLOUD']);
  });

  test('top-vos: totals over the range; the range filters', async () => {
    assert.deepEqual(await report('top-vos'), [
      { vo: egi, vms: 2, cpu_hours: 312.5, wall_hours: 86, normalised_cpu_hours: 3171 },
      { vo: example, vms: 3, cpu_hours: 219, wall_hours: 112, normalised_cpu_hours: 120 },
    ]);
    assert.deepEqual(await report('top-vos', { to: '2024-03-31T23:59:59Z' }), [
      { vo: egi, vms: 2, cpu_hours: 312.5, wall_hours: 86, normalised_cpu_hours: 3171 },
      { vo: example, vms: 2, cpu_hours: 204, wall_hours: 102, normalised_cpu_hours: 0 },
    ]);
    assert.deepEqual(await report('top-vos', { size: 1 }), [{ vo: egi, vms: 2, cpu_hours: 312.5, wall_hours: 86, normalised_cpu_hours: 3171 }]);
  });

  test('cpu-efficiency: CPU hours over core wall hours; the VM that never ran adds nothing to either', async () => {
    assert.deepEqual(await report('cpu-efficiency'), [
      { vo: egi, period: march, cpu_hours: 312.5, core_wall_hours: 302 + 10.5, efficiency: 1 },
      { vo: example, period: march, cpu_hours: 204, core_wall_hours: 204, efficiency: 1 },
      { vo: example, period: april, cpu_hours: 15, core_wall_hours: 20, efficiency: 0.75 },
    ]);
  });

  test('running-vms: VMs per month and those not ended at their latest snapshot (A running, D suspended)', async () => {
    assert.deepEqual(await report('running-vms'), [
      { period: march, vms: 4, running: 2 },
      { period: april, vms: 1, running: 0 },
    ]);
  });

  test('accelerator-hours, storage-capacity, public-ips, energy-usage: the other index families, latest snapshots only', async () => {
    assert.deepEqual(await report('accelerator-hours'), [
      { model: 'NVIDIA Tesla V100', period: march, records: 1, accelerator_hours: 75.5 * 2 },
      { model: 'AMD MI210', period: march, records: 1, accelerator_hours: 102 },
    ]);
    assert.deepEqual(await report('storage-capacity'), [
      { vo: egi, period: march, records: 1, capacity_gb: 150 },
      { vo: example, period: march, records: 1, capacity_gb: 10 },
    ]);
    assert.deepEqual(await report('public-ips'), [
      { vo: example, period: march, records: 1, ip_count: 12 },
      { vo: example, period: april, records: 1, ip_count: 7 },
      { vo: egi, period: march, records: 1, ip_count: 5 },
    ]);
    assert.deepEqual(await report('energy-usage'), [
      { owner: '/vo.access.egi.eu/Role=NULL/Capability=NULL', period: march, records: 1, energy_kwh: 0.05 },
      { owner: example, period: march, records: 1, energy_kwh: 0.01225 },
    ]);
  });

  test('the command prints a table over the configured prefix', async () => {
    const saved = process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
    process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = prefix;
    try {
      let text = '';
      await reportCommand(undefined, { write: (s: string) => (text += s) }).parseAsync(['cloud', 'running-vms', '--from', '2024-03-01', '--to', '2024-04-30'], { from: 'user' });
      assert.equal(text, ['period                    vms  running', '------------------------  ---  -------', `${march}    4        2`, `${april}    1        0`, ''].join('\n'));
    } finally {
      if (saved === undefined) delete process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX;
      else process.env.TALLY_ELASTICSEARCH__INDEX_PREFIX = saved;
    }
  });
});
