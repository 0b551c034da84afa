import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServicesConfig } from '../../pipeline/config/types.js';
import { clusterHealthy } from '../../pipeline/elasticsearch/capabilities.js';
import { startElasticsearch, stopElasticsearch } from '../../pipeline/services/elasticsearch.js';
import { startKafka, stopKafka } from '../../pipeline/services/kafka.js';
import type { ServicesLayout } from '../../pipeline/services/layout.js';
import type { ElasticsearchState, KafkaState } from '../../pipeline/services/state.js';
import { projectRoot } from '../../pipeline/paths.js';
import { freePort } from '../support/world.js';
import { killOnExit } from './leftovers.js';

/**
 * A Kafka broker and an Elasticsearch node of a fault world alone, on free ports with their own
 * folders, from the cached artifacts: the faults stop and restart them, which the shared services
 * must never see. Restarts keep the data folders (and Kafka's cluster id).
 */
export interface FaultServices {
  dir: string;
  brokers: string;
  esUrl: string;
  stopKafka(): Promise<void>;
  startKafka(): Promise<void>;
  stopElasticsearch(): Promise<void>;
  startElasticsearch(): Promise<void>;
  kafkaUp(): boolean;
  elasticsearchUp(): Promise<boolean>;
  close(): Promise<void>;
}

export const cacheDir = process.env.TALLY_FAULT_CACHE_DIR ?? path.join(projectRoot, '.tally', 'cache');

export async function startFaultServices(name: string): Promise<FaultServices> {
  const dir = mkdtempSync(path.join(tmpdir(), `faults-${name}-`));
  // Elasticsearch runs as a service user who must enter every folder above its own
  chmodSync(dir, 0o755);
  const layout: ServicesLayout = { root: dir, cacheDir, runDir: path.join(dir, 'run'), stateFile: path.join(dir, 'run', 'services.json') };
  const kafkaConfig: ServicesConfig['kafka'] = { version: '4.1.2', port: await freePort(), controllerPort: await freePort(), heap: '512m', startTimeoutMs: 180_000 };
  const esConfig: ServicesConfig['elasticsearch'] = { version: '8.19.21', httpPort: await freePort(), transportPort: await freePort(), heap: '512m', user: 'tally-es', startTimeoutMs: 300_000 };
  let kafka: KafkaState | undefined;
  let es: ElasticsearchState | undefined;
  let kafkaRunning = false;
  const [k, e] = await Promise.allSettled([startKafka(layout, kafkaConfig), startElasticsearch(layout, esConfig)]);
  if (k.status === 'fulfilled') kafka = k.value;
  if (e.status === 'fulfilled') es = e.value;
  if (!kafka || !es) {
    if (kafka) await stopKafka(kafka);
    if (es) await stopElasticsearch(es);
    const reason = k.status === 'rejected' ? k.reason : e.status === 'rejected' ? e.reason : 'unknown';
    throw new Error(`the fault world's services did not start: ${(reason as Error).message ?? String(reason)}`);
  }
  kafkaRunning = true;
  const kafkaState = kafka;
  let esState = es;
  let forgetKafka = killOnExit(-kafkaState.pid);
  let forgetEs = killOnExit(-esState.pid);
  return {
    dir,
    brokers: kafkaState.bootstrap,
    esUrl: esState.url,
    async stopKafka() {
      await stopKafka(kafkaState);
      forgetKafka();
      kafkaRunning = false;
    },
    async startKafka() {
      Object.assign(kafkaState, await startKafka(layout, kafkaConfig, kafkaState));
      forgetKafka = killOnExit(-kafkaState.pid);
      kafkaRunning = true;
    },
    async stopElasticsearch() {
      await stopElasticsearch(esState);
      forgetEs();
    },
    async startElasticsearch() {
      esState = await startElasticsearch(layout, esConfig, esState);
      forgetEs = killOnExit(-esState.pid);
    },
    kafkaUp: () => kafkaRunning,
    elasticsearchUp: () => clusterHealthy(esState.url),
    async close() {
      await Promise.all([stopKafka(kafkaState), stopElasticsearch(esState)]);
      forgetKafka();
      forgetEs();
      if (!process.env.TALLY_FAULT_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
}
