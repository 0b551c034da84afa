import { errors } from '@elastic/elasticsearch';
import { Command } from 'commander';
import { createEsClient } from '../../elasticsearch/client.js';
import { TallyError, messageOf } from '../../errors.js';
import { accountingReport } from '../../report/accounting.js';
import { defaultReportParams, renderTable, reportPanel, runReport, type ReportFamily } from '../../report/panel.js';
import { contextFrom } from '../context.js';

/** Every `tally report <family>`: a new family is one ReportFamily module and one entry here. */
export const reportFamilies: ReportFamily[] = [accountingReport];

interface ReportOptions {
  from: string;
  to: string;
  size: string;
  interval: string;
  json?: boolean;
}

interface Output {
  write(text: string): unknown;
}

export function reportCommand(families: ReportFamily[] = reportFamilies, output: Output = process.stdout): Command {
  const command = new Command('report').description("the dashboards' aggregations as tables: the same queries the Kibana panels run");
  for (const family of families) command.addCommand(familyCommand(family, output));
  return command;
}

function familyCommand(family: ReportFamily, output: Output): Command {
  const panels = family.panels.map((p) => `  ${p.name.padEnd(18)} ${p.description}`).join('\n');
  return new Command(family.name)
    .description(family.description)
    .argument('<panel>', family.panels.map((p) => p.name).join(' | '))
    .option('--from <time>', 'start of the range: Elasticsearch date math (now-7d) or ISO 8601', defaultReportParams.from)
    .option('--to <time>', 'end of the range', defaultReportParams.to)
    .option('--size <n>', 'top-N buckets, or rows for a listing', String(defaultReportParams.size))
    .option('--interval <interval>', 'date histogram interval (1h, 1d, 1w, 1M, or fixed: 30m, 6h)', defaultReportParams.interval)
    .option('--json', 'print the rows as JSON')
    .addHelpText('after', `\nPanels:\n${panels}\n`)
    .action(async (panelName: string, options: ReportOptions, command: Command) => {
      reportPanel(family, panelName);
      const size = Number(options.size);
      if (!Number.isInteger(size) || size < 1 || size > 10_000) throw new TallyError('USAGE', `--size must be an integer from 1 to 10000, not "${options.size}"`);
      const { config } = contextFrom(command);
      const client = createEsClient(config.elasticsearch);
      try {
        const result = await runReport(client, family, panelName, { indexPrefix: config.elasticsearch.indexPrefix, params: { from: options.from, to: options.to, size, interval: options.interval } });
        output.write(options.json ? `${JSON.stringify(result.rows, null, 2)}\n` : renderTable(result.columns, result.rows));
        if (!options.json && result.rows.length === 0) output.write(`(no records in ${result.index} from ${options.from} to ${options.to})\n`);
      } catch (error) {
        throw queryFailure(config.elasticsearch.url, error);
      } finally {
        await client.close();
      }
    });
}

function queryFailure(url: string, error: unknown): unknown {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const reason = (error.body as { error?: { reason?: string } } | undefined)?.error?.reason ?? messageOf(error);
    return new TallyError(status === 429 || status >= 500 ? 'ES_RETRIABLE' : 'ES_PERMANENT', `the report query answered ${status}: ${reason}`, { cause: error });
  }
  if (error instanceof errors.ElasticsearchClientError) return new TallyError('ES_RETRIABLE', `Elasticsearch at ${url} did not answer: ${messageOf(error)}`, { cause: error });
  return error;
}
