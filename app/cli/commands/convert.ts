import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { LineSplitter, type Piece } from '../../../connectors/sources/file-tail/lines.js';
import { domainCodec, toJsonDocument } from '../../../pipeline/avro.js';
import type { RejectionReason } from '../../../pipeline/dlq.js';
import { buildEnvelope, describeOrigin, readEnvelope, type RawEnvelope } from '../../../pipeline/envelope.js';
import { TallyError, isTallyError, messageOf } from '../../../pipeline/errors.js';
import { normaliserFor } from '../../../pipeline/normalise/index.js';
import type { JoinedLines, NormalisedRecord, Normaliser } from '../../../pipeline/normalise/types.js';
import { QueueSimpleWriter } from '../../../connectors/dirq/queue-simple.js';
import { resolveApelSinkConfig } from '../../../connectors/sinks/apel/config.js';
import { renderApelMessages } from '../../../connectors/sinks/apel/offline.js';

export interface ConvertOptions {
  normaliser: Normaliser;
  /** auto: a Filebeat event line is unwrapped, any other line is the message; none: every line is the message */
  envelope: 'auto' | 'none';
  /** the path the lines are said to come from (log.file.path) */
  name: string;
  maxLineBytes: number;
  /** when given, each normalised record goes here instead of stdout (for --to apel) */
  collect?: (record: NormalisedRecord) => void;
}

export interface ConvertSummary {
  lines: number;
  records: number;
  rejectedLines: number;
}

/** One rejection as `tally convert` writes it on stderr. */
export interface ConvertRejection {
  /** 1-based line number of the input */
  line: number;
  reasons: RejectionReason[];
  original: string;
}

const defaultMaxLineBytes = 524_288;

export function convertCommand(): Command {
  return new Command('convert')
    .description('normalise one kind from stdin with the transform\'s own code: records as JSON lines on stdout ({"topic":…,"record":…} for a kind that writes several topics), rejections as JSON lines on stderr; exit 1 if any line was rejected')
    .requiredOption('--kind <kind>', 'the input kind, e.g. accounting')
    .addOption(new Option('--envelope <mode>', 'auto: a Filebeat event (JSON with message and @timestamp/log/input/agent) is unwrapped, any other line is the message; none: every line is the message').choices(['auto', 'none']).default('auto'))
    .option('--name <path>', 'the file the lines are said to come from (log.file.path, part of the record id)', '-')
    .option('--max-line-bytes <n>', 'a longer line is rejected (RECORD_TOO_LARGE)', String(defaultMaxLineBytes))
    .addOption(new Option('--to <format>', 'json: records as JSON lines on stdout; apel: cloud records rendered as APEL messages into the queue directory --out, through the APEL sink\'s own code').choices(['json', 'apel']).default('json'))
    .option('--out <dir>', 'with --to apel: the dirq outgoing queue to write the messages into')
    .action(async (options: { kind: string; envelope: 'auto' | 'none'; name: string; maxLineBytes: string; to: 'json' | 'apel'; out?: string }) => {
      const maxLineBytes = Number(options.maxLineBytes);
      if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) throw new TallyError('USAGE', `--max-line-bytes must be a positive whole number, got ${JSON.stringify(options.maxLineBytes)}`);
      const normaliser = normaliserFor(options.kind);
      // a reader that went away (| head) ends the conversion quietly
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') throw error;
        process.exit(process.exitCode ?? 0);
      });
      if (options.to === 'apel' && !options.out) throw new TallyError('USAGE', '--to apel needs --out <dir>, the queue directory to write the APEL messages into');
      const records: NormalisedRecord[] = [];
      const summary = await convertStream(process.stdin, process.stdout, process.stderr, { normaliser, envelope: options.envelope, name: options.name, maxLineBytes, ...(options.to === 'apel' ? { collect: (record: NormalisedRecord) => records.push(record) } : {}) });
      if (options.to === 'apel' && options.out) {
        const written = await writeApelQueue(records, options.out);
        for (const refused of written.refused) process.stderr.write(`${JSON.stringify({ record: refused.index, reasons: [{ code: refused.code, message: refused.reason }] })}\n`);
        process.stderr.write(`wrote ${written.records} records in ${written.messages} APEL messages to ${options.out}${written.skipped ? `; ${written.skipped} records have no APEL message type (cloud.energy) and were left out` : ''}\n`);
        if (written.refused.length) process.exitCode = 1;
      }
      if (summary.rejectedLines > 0) process.exitCode = 1;
    });
}

/**
 * Lines in, JSON lines out, in bounded memory: a line is at most `maxLineBytes` held, and output
 * waits for the writers to drain. Offsets are exact byte offsets of each line in the input.
 */
export async function convertStream(input: AsyncIterable<Buffer | string>, output: Writable, errors: Writable, options: ConvertOptions): Promise<ConvertSummary> {
  const records = new LineWriter(output);
  const rejections = new LineWriter(errors);
  const summary: ConvertSummary = { lines: 0, records: 0, rejectedLines: 0 };
  const splitter = new LineSplitter(0, options.maxLineBytes);
  // kinds whose events span lines (oslo.log tracebacks) are joined as the transform joins them
  const joiner = options.normaliser.createJoiner?.();
  const lineAt = new Map<number, number>();
  const emit = (result: ConvertedLine): void => {
    for (const document of result.documents) records.add(document);
    for (const rejection of result.rejections) rejections.add(JSON.stringify(rejection));
    summary.records += result.documents.length;
    if (result.rejections.length > 0) summary.rejectedLines += 1;
  };
  const emitJoined = (events: JoinedLines[]): void => {
    for (const event of events) {
      const line = lineAt.get(event.firstOffset) ?? 0;
      for (let offset = event.firstOffset; offset <= event.lastOffset; offset += 1) lineAt.delete(offset);
      emit(normalisePiece(event.envelope, event.envelope.message, line, options));
    }
  };
  const take = (pieces: Piece[]) => {
    for (const piece of pieces) {
      summary.lines += 1;
      if (!joiner) {
        emit(convertPiece(piece, summary.lines, options));
        continue;
      }
      const read = readPiece(piece, summary.lines, options);
      if ('documents' in read) {
        emit(read);
        continue;
      }
      lineAt.set(piece.start, summary.lines);
      emitJoined(joiner.push(options.name, read.envelope, { topic: '-', partition: 0, offset: piece.start }));
    }
  };
  for await (const chunk of input) {
    take(splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    await Promise.all([records.flush(), rejections.flush()]);
  }
  // a last line without its newline
  if (splitter.pendingBytes > 0) take(splitter.push(Buffer.from('\n')));
  if (joiner) emitJoined(joiner.flushAll());
  await Promise.all([records.flush(), rejections.flush()]);
  return summary;
}

interface ConvertedLine {
  /** each record as its JSON document (toJsonDocument: timestamps ISO 8601, nulls left out) */
  documents: string[];
  rejections: ConvertRejection[];
}

const nothing: ConvertedLine = { documents: [], rejections: [] };
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The stream's code path for one line: envelope, normaliser, then the Avro encoding the transform would write. */
export function convertPiece(piece: Piece, line: number, options: ConvertOptions): ConvertedLine {
  const read = readPiece(piece, line, options);
  return 'documents' in read ? read : normalisePiece(read.envelope, read.text, line, options);
}

/** One input line as an envelope, or its rejection (too long, not UTF-8); blank lines give nothing. */
function readPiece(piece: Piece, line: number, options: ConvertOptions): ConvertedLine | { envelope: RawEnvelope; text: string } {
  const coordinates = { inputType: 'stdin' as const, path: options.name, offset: piece.start };
  if (piece.kind === 'oversize') {
    const origin = describeOrigin(buildEnvelope({ message: '', ...coordinates }));
    const message = `the line is ${piece.length} bytes, over the limit of ${options.maxLineBytes} (--max-line-bytes); its first ${piece.head.length} bytes are shown (${origin})`;
    return { documents: [], rejections: [{ line, reasons: [{ code: 'RECORD_TOO_LARGE', message }], original: piece.head.toString('utf8') }] };
  }
  const text = piece.bytes.toString('utf8');
  if (text.trim() === '') return nothing;
  let envelope: RawEnvelope;
  try {
    envelope = options.envelope === 'auto' ? readEnvelope(piece.bytes, coordinates) : buildEnvelope({ message: strictUtf8.decode(piece.bytes), ...coordinates });
  } catch (error) {
    const message = isTallyError(error) ? error.message : `input from ${options.name} at byte ${piece.start} is not valid UTF-8`;
    return { documents: [], rejections: [{ line, reasons: [{ code: 'RECORD_UNPARSABLE', rule: 'utf-8', message }], original: text }] };
  }
  return { envelope, text };
}

function normalisePiece(envelope: RawEnvelope, text: string, line: number, options: ConvertOptions): ConvertedLine {
  const normalised = options.normaliser.normalise(envelope);
  const converted: ConvertedLine = { documents: [], rejections: normalised.rejections.map((r) => ({ line, reasons: r.reasons, original: r.original ?? text })) };
  for (const record of normalised.records) {
    const codec = domainCodec(record.topic);
    try {
      codec.encode(record.value);
    } catch (error) {
      converted.rejections.push({ line, reasons: [{ code: isTallyError(error) ? error.code : 'RECORD_UNRENDERABLE', rule: 'avro', message: `${messageOf(error)} (${describeOrigin(envelope)})` }], original: text });
      continue;
    }
    if (options.collect) options.collect(record);
    else converted.documents.push(documentLine(options.normaliser, record.topic, JSON.stringify(toJsonDocument(codec, record.value))));
  }
  return converted;
}

/** A kind that writes one topic prints the record; one that writes several says each record's topic: {"topic":"cloud.vm","record":{…}}. */
function documentLine(normaliser: Normaliser, topic: string, document: string): string {
  return normaliser.topics.length > 1 ? `{"topic":${JSON.stringify(topic)},"record":${document}}` : document;
}

/** The records as the APEL sink would write them (same renderers, limits, latest-snapshot rule), enqueued the dirq way. */
async function writeApelQueue(records: NormalisedRecord[], dir: string): Promise<{ messages: number; records: number; skipped: number; refused: { index: number; code: string; reason: string }[] }> {
  const config = resolveApelSinkConfig({ path: dir });
  const rendered = renderApelMessages(records, config, { zeroDurationsAsOne: config.zeroDurationsAsOne, ipRecordUuid: config.ipRecordUuid });
  const writer = new QueueSimpleWriter(dir, { granularitySeconds: config.granularitySeconds, fileMode: config.fileMode, directoryMode: config.directoryMode });
  await writer.add(rendered.messages.map((m) => m.body));
  return { messages: rendered.messages.length, records: rendered.messages.reduce((sum, m) => sum + m.records, 0), skipped: rendered.skipped.length, refused: rendered.refused };
}

/** Collects lines and writes them in one piece per input chunk, waiting for the stream to drain. */
class LineWriter {
  private pending = '';

  constructor(private readonly stream: Writable) {}

  add(line: string): void {
    this.pending += `${line}\n`;
  }

  async flush(): Promise<void> {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }
}
