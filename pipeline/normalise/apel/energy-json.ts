import { envelopeRecordParts, jsonRecordParts, type JsonMessage } from './json-message.js';
import type { ParseOutcome } from './types.js';

/**
 * Energy messages. APEL defines none and cASO's SSM messenger refuses energy records; cASO sends
 * them only through its greendigit_cim messenger, as a JSON array of EnergyRecord objects. Tally
 * reads that array, and the envelope the other JSON messages use with a Type naming energy
 * (`{"Type": "APEL-energy-message", "Version": "0.1", "UsageRecords": [...]}`).
 */
export const energyArrayFormat = 'energy JSON';

/** Whether a JSON message's Type says it carries energy records. */
export function isEnergyType(type: unknown): boolean {
  return typeof type === 'string' && /energy/i.test(type);
}

export function parseEnergyJson(message: JsonMessage | unknown[]): ParseOutcome {
  if (Array.isArray(message)) return jsonRecordParts(message, 'energy', energyArrayFormat, (record) => [record]);
  return envelopeRecordParts(message, 'energy', `${String(message.Type)} ${String(message.Version)}`);
}
