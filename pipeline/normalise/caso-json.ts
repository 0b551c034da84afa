import type { RejectionReason } from '../dlq.js';
import { describeOrigin, type RawEnvelope } from '../envelope.js';
import { isJsonObject } from './apel/json-message.js';
import { buildAccelerator } from './cloud/accelerator.js';
import { checkedForAvro, type RecordBuilder } from './cloud/build.js';
import { buildEnergy } from './cloud/energy.js';
import { buildIp } from './cloud/ip.js';
import { envelopeSource, type CloudSource } from './cloud/source.js';
import { buildStorageFromCaso } from './cloud/storage.js';
import { cloudTopics } from './cloud/topics.js';
import { describeValue } from './cloud/validate.js';
import { buildVm } from './cloud/vm.js';
import type { Normalised, NormalisedRecord, Normaliser, Rejection } from './types.js';

/**
 * kind `caso-json`: one cASO record as `model_dump_json(by_alias=True, exclude_none=True)` writes
 * it (epoch-second times) becomes one record on its cloud.* topic, through the same builders as
 * the APEL messages. A JSON array of records (the body cASO's greendigit_cim messenger posts) is
 * read record by record.
 */

export const casoJsonFormat = 'cASO JSON';

/** The key that tells each cASO record class apart, in the order they are tried. */
const recordClasses: readonly { keys: readonly string[]; name: string; build: RecordBuilder }[] = [
  { keys: ['VMUUID'], name: 'CloudRecord', build: buildVm },
  { keys: ['AssociatedRecord', 'AccUUID'], name: 'AcceleratorRecord', build: buildAccelerator },
  { keys: ['IPVersion', 'IPCount'], name: 'IPRecord', build: buildIp },
  { keys: ['VolumeUUID'], name: 'StorageRecord', build: buildStorageFromCaso },
  { keys: ['ExecUnitID'], name: 'EnergyRecord', build: buildEnergy },
];

export const casoJsonNormaliser: Normaliser = {
  kind: 'caso-json',
  topics: cloudTopics,
  normalise: normaliseCasoJson,
};

function normaliseCasoJson(envelope: RawEnvelope): Normalised {
  const origin = describeOrigin(envelope);
  let parsed: unknown;
  try {
    parsed = JSON.parse(envelope.message.startsWith('\uFEFF') ? envelope.message.slice(1) : envelope.message);
  } catch (error) {
    return { records: [], rejections: [{ reasons: [notJson(envelope.message, error, origin)] }] };
  }
  const coordinates = envelopeSource(envelope);
  const records: NormalisedRecord[] = [];
  const rejections: Rejection[] = [];
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length === 0) rejections.push({ reasons: [{ code: 'RECORD_INVALID', rule: 'no-records', path: '', message: `the input is an empty JSON array: it holds no cASO record (${origin})` }] });
  list.forEach((item: unknown, index) => {
    const where = Array.isArray(parsed) ? `${origin}, record ${index + 1} of ${list.length}` : origin;
    const source = { ...coordinates, format: casoJsonFormat, record_number: Array.isArray(parsed) ? index + 1 : null };
    const outcome = recordOf(item, where, source);
    if ('record' in outcome) records.push(outcome.record);
    else rejections.push(list.length === 1 ? { reasons: outcome.reasons } : { reasons: outcome.reasons, original: JSON.stringify(item) });
  });
  return { records, rejections };
}

function recordOf(item: unknown, origin: string, source: CloudSource): { record: NormalisedRecord } | { reasons: RejectionReason[] } {
  const invalid = (rule: string, text: string) => ({ reasons: [{ code: 'RECORD_INVALID', rule, path: '', message: `${text} (${origin})` }] });
  if (!isJsonObject(item)) return invalid('type', `a cASO record must be a JSON object of fields, got ${describeValue(item)}`);
  const recordClass = recordClasses.find((c) => c.keys.some((key) => Object.hasOwn(item, key)));
  if (recordClass === undefined) {
    if (Object.hasOwn(item, 'UsageRecords')) return invalid('record-type', `this is an APEL JSON message (it has \`UsageRecords\`), not a single cASO record; send it as kind apel-message`);
    const keys = recordClasses.map((c) => `${c.keys.join(' or ')} (${c.name})`).join(', ');
    return invalid('record-type', `cannot tell which cASO record this is: it has none of ${keys}`);
  }
  const outcome = checkedForAvro(recordClass.build(item, { origin, source }), origin);
  return outcome.record ? { record: outcome.record } : { reasons: outcome.reasons };
}

function notJson(text: string, error: unknown, origin: string): RejectionReason {
  const reason = (message: string): RejectionReason => ({ code: 'RECORD_UNPARSABLE', rule: 'json', message: `${message} (${origin})` });
  if (text.trim() === '') return reason('the input is empty, expected a cASO record as JSON');
  const detail = error instanceof Error ? error.message : String(error);
  return reason(`the input is not valid JSON, expected a cASO record as model_dump_json writes it: ${detail.length > 200 ? `${detail.slice(0, 200)}…` : detail}`);
}
