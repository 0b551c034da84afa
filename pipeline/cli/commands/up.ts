import { Command } from 'commander';
import { startServices } from '../../services/index.js';
import { createBus } from '../../bus/index.js';
import { checkElasticsearchRoundTrip } from '../../elasticsearch/round-trip.js';
import { contextFrom } from '../context.js';

/**
 * The main job on embedded defaults. For now: start the local services, prove a Kafka round trip on
 * both sides of the client layer and an Elasticsearch index-and-search, then say what comes next.
 */
export function upCommand(): Command {
  return new Command('up')
    .description('start local Kafka and Elasticsearch, check them, and run the pipeline on the bundled samples')
    .action(async (_options: unknown, command: Command) => {
      const { config, log } = contextFrom(command);
      const out = (line: string): boolean => process.stdout.write(`${line}\n`);
      out('tally up: starting local services (first run downloads Kafka and Elasticsearch from Maven Central)…');
      const started = Date.now();
      const statuses = await startServices(config);
      for (const s of statuses) out(`  ${s.name.padEnd(14)} ${s.up ? 'up' : 'DOWN'} at ${s.endpoint}${s.version ? ` (version ${s.version})` : ''}${s.reused ? ', reused' : ''}`);
      out(`  ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

      const bus = createBus(config.kafka, log);
      const topic = bus.topic('tally.up-check');
      const admin = await bus.admin();
      await admin.createTopics([{ topic, partitions: 1 }]);
      const producer = await bus.producer();
      const marker = `up-check-${Date.now()}`;
      await producer.send([{ topic, key: marker, value: JSON.stringify({ marker }) }]);
      await producer.close();
      const offsets = await admin.groupOffsets('tally-up-check', topic);
      await admin.close();
      out(`  kafka          produced a check record with acks=all to ${topic} (${bus.backend} backend; log end offset ${offsets[0]?.end ?? '?'})`);

      const es = await checkElasticsearchRoundTrip(config.elasticsearch);
      out(`  elasticsearch  indexed and found a check document in ${es.index} (${es.took} ms); modules: ${es.capabilities.modules.join(', ')}`);
      out(`  capabilities   data streams: ${es.capabilities.dataStreams ? 'yes' : 'no'}, ILM: ${es.capabilities.ilm ? 'yes' : 'no'}, ingest processors: ${es.capabilities.ingestProcessors ? 'yes' : 'no'}`);
      out('');
      out('Next stage: the accounting path (tally ship / beats / http → transform → sink elasticsearch) is not built yet.');
      out('Services keep running; stop them with: bin/tally services stop');
    });
}
