import { errors } from '@elastic/elasticsearch';
import { Command } from 'commander';
import { createEsClient } from '../../../pipeline/elasticsearch/client.js';
import { TallyError, messageOf } from '../../../pipeline/errors.js';
import { compileFormat } from '../../../pipeline/format/template.js';
import { renderCsv } from '../../../pipeline/report/csv.js';
import { accountingReport } from '../../../pipeline/report/accounting.js';
import { auditReport } from '../../../pipeline/report/audit.js';
import { cloudReport } from '../../../pipeline/report/cloud.js';
import { opsReport, type RolloutParams } from '../../../pipeline/report/ops.js';
import { defaultReportParams, renderTable, reportPanel, runReport, type ReportFamily } from '../../../pipeline/report/panel.js';
import { listRequests, renderStory, requestColumns, requestStory } from '../../../pipeline/report/requests.js';
import { contextFrom } from '../context.js';

/** Every `tally report <family>`: a new family is one ReportFamily module and one entry here. */
export const reportFamilies: ReportFamily[] = [accountingReport, cloudReport, auditReport, opsReport];

interface ReportOptions {
  from: string;
  to: string;
  size: string;
  interval: string;
  at?: string;
  json?: boolean;
  format: string;
}

const outputFormats = ['table', 'json', 'csv'] as const;

interface Output {
  write(text: string): unknown;
}

export function reportCommand(families: ReportFamily[] = reportFamilies, output: Output = process.stdout): Command {
  const command = new Command('report').description("the dashboards' aggregations as tables: the same queries the Kibana panels run");
  for (const family of families) command.addCommand(familyCommand(family, output));
  command.addCommand(requestsCommand(output));
  command.addCommand(requestCommand(output));
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
    .option('--at <time>', 'the moment a panel compares before and after (ops exceptions-rollout: a rollout)')
    .option('--json', 'print the rows as JSON (the same as --format json)')
    .option('--format <format>', `output: ${outputFormats.join(', ')} (csv: RFC 4180, cells that a spreadsheet would run as a formula are prefixed with ')`, 'table')
    .addHelpText('after', `\nPanels:\n${panels}\n`)
    .action(async (panelName: string, options: ReportOptions, command: Command) => {
      reportPanel(family, panelName);
      const format = options.json ? 'json' : options.format;
      if (!(outputFormats as readonly string[]).includes(format)) throw new TallyError('USAGE', `--format must be one of ${outputFormats.join(', ')}, not "${format}"`);
      const size = Number(options.size);
      if (!Number.isInteger(size) || size < 1 || size > 10_000) throw new TallyError('USAGE', `--size must be an integer from 1 to 10000, not "${options.size}"`);
      const { config } = contextFrom(command);
      const client = createEsClient(config.elasticsearch);
      try {
        const params: Partial<RolloutParams> = { from: options.from, to: options.to, size, interval: options.interval, ...(options.at !== undefined ? { at: options.at } : {}) };
        const result = await runReport(client, family, panelName, { indexPrefix: config.elasticsearch.indexPrefix, params });
        output.write(format === 'json' ? `${JSON.stringify(result.rows, null, 2)}\n` : format === 'csv' ? renderCsv(result.columns, result.rows) : renderTable(result.columns, result.rows));
        if (format === 'table' && result.rows.length === 0) output.write(`(no records in ${result.index} from ${options.from} to ${options.to})\n`);
      } catch (error) {
        throw queryFailure(config.elasticsearch.url, error);
      } finally {
        await client.close();
      }
    });
}

/** LogCAS's request list: `tally report requests`, paged by the cursor it prints. */
function requestsCommand(output: Output): Command {
  return new Command('requests')
    .description('requests (transaction_id, with its global trace_id) in the range: first and last time, services touched, highest level, log and audit events; a page at a time')
    .option('--from <time>', 'start of the range: Elasticsearch date math (now-1h) or ISO 8601', defaultReportParams.from)
    .option('--to <time>', 'end of the range', defaultReportParams.to)
    .option('--level <level>', 'only requests with an event at this level or higher (WARNING, ERROR, …)')
    .option('--service <name>', 'only requests that touched this service (nova, cinder, …)')
    .option('--size <n>', 'requests per page', '20')
    .option('--after <cursor>', 'the page after this cursor (printed under a page that has a next one)')
    .option('--json', 'print the page as JSON: rows and next')
    .action(async (options: { from: string; to: string; level?: string; service?: string; size: string; after?: string; json?: boolean }, command: Command) => {
      const size = countOption('--size', options.size);
      await withClient(command, async (client, indexPrefix) => {
        const page = await listRequests(client, { indexPrefix, from: options.from, to: options.to, size, ...pick(options, ['level', 'service', 'after']) });
        if (options.json) return void output.write(`${JSON.stringify({ rows: page.rows, next: page.next ?? null }, null, 2)}\n`);
        output.write(renderTable(requestColumns, page.rows));
        if (page.rows.length === 0) output.write(`(no requests in ${page.index} from ${options.from} to ${options.to})\n`);
        if (page.next !== undefined) output.write(`next page: --after ${page.next}\n`);
      });
    });
}

/** LogCAS's request detail: `tally report request <id>`, the whole story across services. */
function requestCommand(output: Output): Command {
  return new Command('request')
    .description("a request's whole story in time order, across services and both models (ops.logs, audit.events), with tracebacks")
    .argument('<id>', 'a request id (req-…): a transaction_id, or a trace_id (global request id)')
    .option('--from <time>', 'only events from this time (default: all)')
    .option('--to <time>', 'only events up to this time')
    .option('--size <n>', 'at most this many events', '10000')
    .option('--format <format>', 'print each event with this format string (see tally format --help)')
    .option('--json', 'print the events as JSON lines (what tally convert prints; pipe into tally format or tally expand)')
    .action(async (id: string, options: { from?: string; to?: string; size: string; format?: string; json?: boolean }, command: Command) => {
      const size = countOption('--size', options.size);
      const format = options.format !== undefined ? compileFormat(options.format) : undefined;
      await withClient(command, async (client, indexPrefix) => {
        const story = await requestStory(client, { indexPrefix, id, size, ...pick(options, ['from', 'to']) });
        output.write(options.json ? story.events.map((e) => `${JSON.stringify(e)}\n`).join('') : renderStory(story, format));
      });
    });
}

function countOption(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new TallyError('USAGE', `${name} must be an integer from 1 to 100000, not "${value}"`);
  return n;
}

function pick<T extends object, K extends keyof T>(options: T, keys: K[]): { [P in K]?: NonNullable<T[P]> } {
  return Object.fromEntries(keys.filter((k) => options[k] !== undefined).map((k) => [k, options[k]])) as { [P in K]?: NonNullable<T[P]> };
}

async function withClient(command: Command, run: (client: ReturnType<typeof createEsClient>, indexPrefix: string) => Promise<void>): Promise<void> {
  const { config } = contextFrom(command);
  const client = createEsClient(config.elasticsearch);
  try {
    await run(client, config.elasticsearch.indexPrefix);
  } catch (error) {
    throw queryFailure(config.elasticsearch.url, error);
  } finally {
    await client.close();
  }
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
