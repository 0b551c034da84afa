import type { RejectionReason } from '../../dlq.js';

/** The record types of APEL messages and cASO, one domain topic each. */
export type CloudRecordType = 'vm' | 'ip' | 'accelerator' | 'storage' | 'energy';

/**
 * A problem a parser found, in words but without the origin (a parser is pure and does not know
 * where the text came from): the normaliser appends it.
 */
export type Problem = RejectionReason;

/** One record of a message, as its format's parser read it. */
export interface RecordPart {
  /** 1-based position of the record in its message */
  number: number;
  /** where the record starts, in words: "line 14" */
  at: string;
  /** the fields with the names the format gives them, values typed where the format says how; null when the record is not even a set of fields (problems say why) */
  fields: Record<string, unknown> | null;
  /** each field's text as written (text formats only), for reasons */
  written?: ReadonlyMap<string, string>;
  /**
   * The record on its own as a one-record message of the same format (its header, envelope or
   * root element around the record's own text), so that a dead letter can be replayed as it is.
   */
  original: string;
  /** what was wrong with the record's syntax; its fields are still checked */
  problems: Problem[];
}

/** A message split into its records. */
export interface ParsedMessage {
  recordType: CloudRecordType;
  /** the format and version, as `source.format` gives it: "APEL-cloud-message: v0.4", "StAR", ... */
  format: string;
  parts: RecordPart[];
}

/** A parser's answer: the records, or why the message as a whole cannot be read. */
export type ParseOutcome = { message: ParsedMessage; problem?: undefined } | { message?: undefined; problem: Problem };

export function unparsable(rule: string, message: string): ParseOutcome {
  return { problem: { code: 'RECORD_UNPARSABLE', rule, message } };
}
