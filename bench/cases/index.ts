import type { CaseContext } from '../context.js';
import type { CaseResult } from '../results.js';
import { apelSinkCase } from './apel-sink.js';
import { beatsCase } from './beats.js';
import { clientsCase } from './clients.js';
import { e2eCase } from './e2e.js';
import { esSinkCase } from './es-sink.js';
import { shipCase } from './ship.js';
import { startupCase } from './startup.js';
import { transformCase } from './transform.js';

export interface BenchCase {
  id: string;
  title: string;
  run: (ctx: CaseContext) => Promise<CaseResult>;
}

/** Every case, in the order they run (and the report lists them). */
export const benchCases: readonly BenchCase[] = [
  { id: 'ship', title: 'Ship: file → Kafka', run: shipCase },
  { id: 'beats', title: 'Beats ingest: lumberjack → Kafka', run: beatsCase },
  { id: 'transform', title: 'Transform: raw → Avro domain topics', run: transformCase },
  { id: 'es-sink', title: 'Elasticsearch sink', run: esSinkCase },
  { id: 'apel-sink', title: 'APEL sink', run: apelSinkCase },
  { id: 'e2e', title: 'End to end', run: e2eCase },
  { id: 'startup', title: 'Start-up and footprint', run: startupCase },
  { id: 'clients', title: 'Kafka clients: kafkajs, node-rdkafka, @platformatic/kafka, @confluentinc/kafka-javascript', run: clientsCase },
];
