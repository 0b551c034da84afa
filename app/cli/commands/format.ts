import { once, type EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { errors } from '@elastic/elasticsearch';
import { Command } from 'commander';
import { createEsClient } from '../../../pipeline/elasticsearch/client.js';
import { TallyError, messageOf } from '../../../pipeline/errors.js';
import { expandEvent } from '../../../pipeline/format/expand.js';
import { isObject, type EventDocument } from '../../../pipeline/format/field-path.js';
import { withStackTrace } from '../../../pipeline/format/stack.js';
import { compileFormat, defaultFormats, summaryFormat } from '../../../pipeline/format/template.js';
import { eventFamily, eventIndices, searchEvents, timeRange } from '../../../pipeline/report/event-search.js';
import { contextFrom } from '../context.js';

interface Output {
  write(text: string): unknown;
}

export interface FormatIo {
  input: NodeJS.ReadableStream;
  output: Output;
  errors: Output;
}

const processIo = (): FormatIo => ({ input: process.stdin, output: process.stdout, errors: process.stderr });

interface SourceOptions {
  index?: string;
  query: string;
  from?: string;
  to?: string;
  size: string;
}

const syntax = `
Format strings (placeholders are dotted field paths of the event, as tally convert prints it):
  {timestamp} {log.level} {message}           the value at the path; a path without a value prints -
  {user.name|user.id}                         the first of the paths that has a value
  {log.level:8} {process.pid:>6} {message:.80}  pad to 8, right-align in 6, cut after 80 (<8.80: both)
  {{ and }}                                   literal braces
  Arrays print comma-separated, objects as JSON; newlines and tabs in a value print as \\n and \\t.
  A map key holding dots is matched whole: {details.vm.flavor} reads details["vm.flavor"].

Default (summary) format, per model:
  ops.logs      ${defaultFormats.ops}
  audit.events  ${defaultFormats.audit}

Examples:
  tally convert --kind oslo-log < nova-api.log | tally format
  tally format --index ops --query 'log.level:ERROR AND service.name:nova' --from now-1h --stack
  tally format -f '{timestamp} {http.status_code:>3} {http.duration_ms:>9} {http.method} {http.path}' < events.jsonl
`;

/** `tally format` (the Nova spec's nova-log-format): one line per event, from a format string. */
export function formatCommand(io: FormatIo = processIo()): Command {
  return sourceOptions(new Command('format'))
    .description("print normalised events (tally convert's JSON lines on stdin, or an index query) one line each, with a format string; the default is a one-line summary")
    .option('-f, --format <format>', 'the format string (see below); default: the summary of each event\'s model')
    .option('--missing <text>', 'what a placeholder without a value prints', '-')
    .option('--stack', 'print each event\'s stack trace (error_stack_trace) under its line')
    .addHelpText('after', syntax)
    .action(async (options: SourceOptions & { format?: string; missing: string; stack?: boolean }, command: Command) => {
      const format = options.format !== undefined ? compileFormat(options.format, { missing: options.missing }) : summaryFormat({ missing: options.missing });
      const render = (event: EventDocument): string => `${(options.stack ? withStackTrace(event, format) : [format.render(event)]).join('\n')}\n`;
      await printEvents(command, options, io, render);
    });
}

/** `tally expand` (the Nova spec's nova-log-expand): every field of each event, nested fields indented, stack traces as real lines. */
export function expandCommand(io: FormatIo = processIo()): Command {
  return sourceOptions(new Command('expand'))
    .description("pretty-print normalised events (tally convert's JSON lines on stdin, or an index query): every field, nested objects indented, stack traces and JSON held in text expanded; events separated by a blank line")
    .addHelpText('after', '\nExamples:\n  tally convert --kind openstack-audit < nova-audit.log | grep terminate | tally expand\n  tally report request req-… --json | tally expand\n')
    .action(async (options: SourceOptions, command: Command) => {
      let first = true;
      await printEvents(command, options, io, (event) => {
        const text = `${first ? '' : '\n'}${expandEvent(event)}`;
        first = false;
        return text;
      });
    });
}

function sourceOptions(command: Command): Command {
  return command
    .option('--index <family>', 'read from Elasticsearch instead of stdin: ops (ops.logs) or audit (audit.events)')
    .option('--query <lucene>', 'with --index: a Lucene query string (log.level:ERROR AND service.name:nova)', '*')
    .option('--from <time>', 'with --index: start of the range (date math or ISO 8601)')
    .option('--to <time>', 'with --index: end of the range')
    .option('--size <n>', 'with --index: at most this many events, oldest first', '100');
}

async function printEvents(command: Command, options: SourceOptions, io: FormatIo, render: (event: EventDocument) => string): Promise<void> {
  if (io.output === process.stdout) quietOnClosedPipe();
  if (options.index === undefined) {
    const { invalid } = await renderLines(io, render);
    if (invalid > 0) process.exitCode = 1;
    return;
  }
  const family = eventFamily(options.index);
  const size = Number(options.size);
  if (!Number.isInteger(size) || size < 1 || size > 100_000) throw new TallyError('USAGE', `--size must be an integer from 1 to 100000, not "${options.size}"`);
  const { config } = contextFrom(command);
  const client = createEsClient(config.elasticsearch);
  try {
    const index = eventIndices(config.elasticsearch.indexPrefix, [family]);
    const query = { bool: { filter: [...timeRange(options.from, options.to), { query_string: { query: options.query } }] } };
    const { events } = await searchEvents(client, { index, query, size }).catch((error: unknown) => {
      throw searchFailure(index, config.elasticsearch.url, error);
    });
    for (const event of events) await write(io.output, render(event));
  } finally {
    await client.close();
  }
}

function searchFailure(index: string, url: string, error: unknown): TallyError {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const reason = (error.body as { error?: { root_cause?: { reason?: string }[]; reason?: string } } | undefined)?.error;
    return new TallyError(status === 429 || status >= 500 ? 'ES_RETRIABLE' : 'ES_PERMANENT', `the query of ${index} answered ${status}: ${reason?.root_cause?.[0]?.reason ?? reason?.reason ?? messageOf(error)}`, { cause: error });
  }
  return new TallyError('ES_RETRIABLE', `Elasticsearch at ${url} did not answer: ${messageOf(error)}`, { cause: error });
}

/** JSON lines in, rendered events out, one line held at a time; a line that is not a JSON object is reported on errors and skipped. */
export async function renderLines(io: FormatIo, render: (event: EventDocument) => string): Promise<{ events: number; invalid: number }> {
  const lines = createInterface({ input: io.input, crlfDelay: Infinity });
  let number = 0;
  const counts = { events: 0, invalid: 0 };
  for await (const line of lines) {
    number += 1;
    if (line.trim() === '') continue;
    let event: unknown;
    let unparsable: string | undefined;
    try {
      event = JSON.parse(line);
    } catch (error) {
      unparsable = messageOf(error);
    }
    if (!isObject(event)) {
      counts.invalid += 1;
      const why = unparsable ?? `a JSON ${Array.isArray(event) ? 'array' : event === null ? 'null' : typeof event}, not an object`;
      await write(io.errors, `${JSON.stringify({ line: number, code: 'RECORD_UNPARSABLE', message: `line ${number} is not a normalised event (one JSON object per line, as tally convert prints): ${why}`, original: line.slice(0, 500) })}\n`);
      continue;
    }
    counts.events += 1;
    await write(io.output, render(event));
  }
  return counts;
}

async function write(output: Output, text: string): Promise<void> {
  const emitter = output as unknown as Partial<EventEmitter>;
  if (output.write(text) === false && typeof emitter.once === 'function') await once(emitter as EventEmitter, 'drain');
}

function quietOnClosedPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}
