import { describeValue } from '../cloud/validate.js';
import { acceleratorMessageType } from './accelerator-json.js';
import { cloudMessageType } from './cloud-text.js';
import { isEnergyType } from './energy-json.js';
import { ipMessageType } from './ip-json.js';
import { isJsonObject, type JsonMessage } from './json-message.js';
import type { Problem } from './types.js';

/**
 * Which APEL message format a text is, from its first character as APEL's RecordFactory decides
 * (`<` XML, `{` JSON, anything else a header line) and, for JSON, its `Type`. JSON is parsed here,
 * once, and handed on.
 */
export type DetectedFormat =
  | { format: 'cloud-text' | 'star-xml' }
  | { format: 'ip-json' | 'accelerator-json'; json: JsonMessage }
  | { format: 'energy-json'; json: JsonMessage | unknown[] }
  | { format: 'unknown'; problem: Problem };

const knownTypes = `${JSON.stringify(ipMessageType)}, ${JSON.stringify(acceleratorMessageType)} or one naming energy`;

export function detectApelFormat(text: string): DetectedFormat {
  const start = firstNonSpace(text);
  const first = text[start];
  if (first === '<') return { format: 'star-xml' };
  if (first !== '{' && first !== '[') return { format: 'cloud-text' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return unknown('json', `the message starts like JSON but is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (Array.isArray(json)) {
    const head: unknown = json[0];
    if (json.length === 0 || (isJsonObject(head) && Object.hasOwn(head, 'ExecUnitID'))) return { format: 'energy-json', json };
    return unknown('json-type', `the message is a JSON array, which only energy messages are (cASO EnergyRecord objects with \`ExecUnitID\`), but its first item is ${isJsonObject(head) ? 'an object without ExecUnitID' : describeValue(head)}; send cASO records one by one as kind caso-json`);
  }
  if (!isJsonObject(json)) return unknown('json-type', `the message is the JSON value ${describeValue(json)}, not an APEL JSON message object`);
  const type = json.Type;
  if (type === ipMessageType) return { format: 'ip-json', json };
  if (type === acceleratorMessageType) return { format: 'accelerator-json', json };
  if (isEnergyType(type)) return { format: 'energy-json', json };
  if (type === undefined) {
    const record = ['VMUUID', 'IPVersion', 'AssociatedRecord', 'AccUUID', 'VolumeUUID', 'ExecUnitID'].find((key) => Object.hasOwn(json, key));
    if (record !== undefined) return unknown('json-type', `the message is a single cASO record (it has \`${record}\`) without an APEL message around it; send it as kind caso-json`);
    return unknown('json-type', `the JSON message has no \`Type\`: expected ${knownTypes}`);
  }
  return unknown('json-type', `the JSON message's \`Type\` ${describeValue(type)} is not one Tally reads: expected ${knownTypes}${typeof type === 'string' && type.startsWith(cloudMessageType) ? `; cloud records are key: value text, not JSON` : ''}`);
}

function unknown(rule: string, message: string): DetectedFormat {
  return { format: 'unknown', problem: { code: 'RECORD_UNPARSABLE', rule, message } };
}

function firstNonSpace(text: string): number {
  let i = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r' || text[i] === '\uFEFF')) i += 1;
  return i;
}
