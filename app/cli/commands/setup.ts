import { Command } from 'commander';
import { describeTemplateInstall, installIndexTemplates } from '../../../connectors/sinks/elasticsearch/setup.js';
import { parseLayout } from '../../../connectors/sinks/elasticsearch/layout.js';
import { indexedTopic } from '../../../connectors/sinks/elasticsearch/topics.js';
import { authHeaders, createEsClient, withEsAccess } from '../../../pipeline/elasticsearch/client.js';
import { importSavedObjects, savedObjectsFile } from '../../../pipeline/setup/kibana.js';
import { contextFrom } from '../context.js';

interface SetupOptions {
  kibanaUrl?: string;
  kibanaSpace?: string;
  layout?: string;
}

export function setupCommand(): Command {
  return new Command('setup')
    .description('install the Elasticsearch index templates (and ILM policies where the cluster has ILM) for sinks.elasticsearch.topics, and import the Kibana dashboards')
    .option('--kibana-url <url>', 'Kibana to import the saved objects into (sinks.elasticsearch.kibanaUrl); without one, only Elasticsearch is set up')
    .option('--kibana-space <space>', 'Kibana space to import into (the default space when omitted)')
    .option('--layout <layout>', 'index layout: monthly (indices by the records\' month; replays overwrite) or data-stream (needs the data-streams module); default sinks.elasticsearch.layout')
    .action(async (options: SetupOptions, command: Command) => {
      const { config } = contextFrom(command);
      const layout = parseLayout(options.layout ?? config.sinks.elasticsearch.layout);
      const topics = config.sinks.elasticsearch.topics.map(indexedTopic);
      const prefix = config.elasticsearch.indexPrefix;
      const client = createEsClient(config.elasticsearch);
      const out = (line: string): boolean => process.stdout.write(`${line}\n`);
      try {
        const install = await withEsAccess(config.elasticsearch, () => installIndexTemplates(client, { prefix, layout, topics }));
        describeTemplateInstall(config.elasticsearch.url, install).forEach(out);
      } finally {
        await client.close();
      }
      const kibanaUrl = options.kibanaUrl ?? config.sinks.elasticsearch.kibanaUrl;
      if (!kibanaUrl) {
        out('kibana: no --kibana-url (or sinks.elasticsearch.kibanaUrl) given; saved objects not imported');
        return;
      }
      for (const name of new Set(topics.flatMap((t) => (t.savedObjects ? [t.savedObjects] : [])))) {
        const file = savedObjectsFile(name, prefix);
        const result = await importSavedObjects({ kibanaUrl, ndjson: file.ndjson, fileName: file.fileName, headers: authHeaders(config.elasticsearch), ...(options.kibanaSpace ? { space: options.kibanaSpace } : {}) });
        out(`kibana ${kibanaUrl}: imported ${result.successCount} saved objects from schemas/kibana/${file.fileName}`);
        for (const object of result.imported) out(`  ${object.type.padEnd(18)}  ${object.id}${object.title ? `  "${object.title}"` : ''}`);
      }
    });
}
