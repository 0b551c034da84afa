import { envelopeRecordParts, versionProblem, type JsonMessage } from './json-message.js';
import type { ParseOutcome } from './types.js';

/**
 * Accelerator usage messages: `{"Type": "APEL-accelerator-message", "Version": "0.1", "UsageRecords": [...]}`,
 * each record naming its VM as `AssociatedRecord` (cASO 3.x, 5.2.2 on, APEL PR #459) or `AccUUID`
 * (cASO 4.0.0–5.2.1); the record builder reads both.
 */
export const acceleratorMessageType = 'APEL-accelerator-message';
export const acceleratorMessageVersions = ['0.1', 'v0.1'] as const;

export function parseAcceleratorJson(message: JsonMessage): ParseOutcome {
  return versionProblem(message, acceleratorMessageVersions) ?? envelopeRecordParts(message, 'accelerator', `${acceleratorMessageType} ${String(message.Version)}`);
}
