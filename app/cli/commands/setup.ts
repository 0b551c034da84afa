import { Command } from 'commander';
import { describeTemplateInstall, installIndexTemplates } from '../../../connectors/sinks/elasticsearch/setup.js';
import { parseLayout } from '../../../connectors/sinks/elasticsearch/layout.js';
import { indexedTopic } from '../../../connectors/sinks/elasticsearch/topics.js';
import { createEsClient, withEsAccess } from '../../../pipeline/elasticsearch/client.js';
import { checkKibanaVersion, importSavedObjects, kibanaAccess, requiredKibanaVersion } from '../../../pipeline/setup/kibana-api.js';
import { savedObjectsFile } from '../../../pipeline/setup/kibana.js';
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
      const out = (line: string): boolean => process.stdout.write(`${line}\n`);
      // Kibana's version first: a Kibana that would refuse the objects stops setup before it changes anything
      const kibanaUrl = options.kibanaUrl ?? config.sinks.elasticsearch.kibanaUrl;
      const access = kibanaUrl ? kibanaAccess(config, kibanaUrl) : undefined;
      const files = [...new Set(topics.flatMap((t) => (t.savedObjects ? [t.savedObjects] : [])))].map((name) => savedObjectsFile(name, prefix));
      if (access) {
        const required = requiredKibanaVersion(files.flatMap((f) => f.objects));
        out(`kibana ${access.url}: version ${await checkKibanaVersion(access, required)} (the saved objects need ${required} or later)`);
      }
      const client = createEsClient(config.elasticsearch);
      try {
        const install = await withEsAccess(config.elasticsearch, () => installIndexTemplates(client, { prefix, layout, topics }));
        describeTemplateInstall(config.elasticsearch.url, install).forEach(out);
      } finally {
        await client.close();
      }
      if (!access) {
        out('kibana: no --kibana-url (or sinks.elasticsearch.kibanaUrl) given; saved objects not imported');
        return;
      }
      for (const file of files) {
        const result = await importSavedObjects(access, file, options.kibanaSpace);
        out(`kibana ${access.url}: imported ${result.successCount} saved objects from schemas/kibana/${file.fileName}`);
        for (const object of result.created) out(`  ${object.type.padEnd(18)}  ${object.id}${object.title ? `  "${object.title}"` : ''}`);
      }
    });
}
