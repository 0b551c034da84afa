import { describeValue } from '../cloud/validate.js';
import type { CloudRecordType, ParseOutcome, RecordPart } from './types.js';

/**
 * The JSON messages cASO writes for public IP and accelerator records (and Tally reads for energy):
 * `{"Type": ..., "Version": ..., "UsageRecords": [record, ...]}` (caso/messenger/ssm.py,
 * `_push_message_json`; APEL PRs #226 and #459).
 */
export type JsonMessage = Record<string, unknown>;

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The records of `list`; `frame` makes the one-record message a dead letter keeps. */
export function jsonRecordParts(list: unknown[], recordType: CloudRecordType, format: string, frame: (record: unknown) => unknown): ParseOutcome {
  const parts = list.map((record, index): RecordPart => {
    const number = index + 1;
    const at = `UsageRecords[${index}]`;
    const original = JSON.stringify(frame(record));
    if (isJsonObject(record)) return { number, at, fields: record, original, problems: [] };
    return {
      number,
      at,
      fields: null,
      original,
      problems: [{ code: 'RECORD_UNPARSABLE', rule: 'record-object', message: `record ${number} of \`UsageRecords\` must be a JSON object of fields, got ${describeValue(record)}` }],
    };
  });
  return { message: { recordType, format, parts } };
}

/** `UsageRecords` of an enveloped message, framed each in the same Type and Version. */
export function envelopeRecordParts(message: JsonMessage, recordType: CloudRecordType, format: string): ParseOutcome {
  const list = message.UsageRecords;
  if (!Array.isArray(list)) {
    return {
      problem: {
        code: 'RECORD_UNPARSABLE',
        rule: 'usage-records',
        message: `the ${JSON.stringify(message.Type)} message must carry its records as a JSON array \`UsageRecords\`, got ${list === undefined ? 'none' : describeValue(list)}`,
      },
    };
  }
  return jsonRecordParts(list, recordType, format, (record) => ({ Type: message.Type, Version: message.Version, UsageRecords: [record] }));
}

/** A version check: `accepted` lists the spellings producers write. */
export function versionProblem(message: JsonMessage, accepted: readonly string[]): ParseOutcome | undefined {
  if (typeof message.Version === 'string' && accepted.includes(message.Version)) return undefined;
  return {
    problem: {
      code: 'RECORD_UNPARSABLE',
      rule: 'version',
      message: `the ${JSON.stringify(message.Type)} message has \`Version\` ${message.Version === undefined ? 'missing' : describeValue(message.Version)}; Tally reads ${accepted.map((v) => JSON.stringify(v)).join(' and ')}`,
    },
  };
}
