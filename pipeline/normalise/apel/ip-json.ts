import { envelopeRecordParts, versionProblem, type JsonMessage } from './json-message.js';
import type { ParseOutcome } from './types.js';

/**
 * Public IP usage messages: `{"Type": "APEL Public IP message", "Version": "0.2", "UsageRecords": [...]}`.
 * cASO writes Version "0.2"; APEL's draft parser (PR #226) wants "v0.2": both are read.
 */
export const ipMessageType = 'APEL Public IP message';
export const ipMessageVersions = ['0.2', 'v0.2'] as const;

export function parseIpJson(message: JsonMessage): ParseOutcome {
  return versionProblem(message, ipMessageVersions) ?? envelopeRecordParts(message, 'ip', `${ipMessageType} ${String(message.Version)}`);
}
