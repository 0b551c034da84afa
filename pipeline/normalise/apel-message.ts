import { describeOrigin, type RawEnvelope } from '../envelope.js';
import { parseAcceleratorJson } from './apel/accelerator-json.js';
import { parseCloudText } from './apel/cloud-text.js';
import { detectApelFormat } from './apel/detect.js';
import { parseEnergyJson } from './apel/energy-json.js';
import { parseIpJson } from './apel/ip-json.js';
import { parseStarXml } from './apel/star-xml.js';
import type { CloudRecordType, ParseOutcome } from './apel/types.js';
import { buildAccelerator } from './cloud/accelerator.js';
import { checkedForAvro, type RecordBuilder } from './cloud/build.js';
import { buildEnergy } from './cloud/energy.js';
import { buildIp } from './cloud/ip.js';
import { envelopeSource } from './cloud/source.js';
import { buildStorageFromStar } from './cloud/storage.js';
import { cloudTopics } from './cloud/topics.js';
import { buildVm } from './cloud/vm.js';
import { withOrigin } from './cloud/with-origin.js';
import type { Normalised, NormalisedRecord, Normaliser, Rejection } from './types.js';

/**
 * kind `apel-message`: one APEL message (a queue element as `tally apel-queue` reads it) becomes
 * its records on cloud.vm, cloud.ip, cloud.accelerator, cloud.storage or cloud.energy. A record
 * that is refused goes to the dead-letter topic alone, as a one-record message of its own; the
 * others of the message go on (APEL itself would refuse the whole message).
 */

const builders: Readonly<Record<CloudRecordType, RecordBuilder>> = {
  vm: buildVm,
  ip: buildIp,
  accelerator: buildAccelerator,
  storage: buildStorageFromStar,
  energy: buildEnergy,
};

export const apelMessageNormaliser: Normaliser = {
  kind: 'apel-message',
  topics: cloudTopics,
  normalise: normaliseApelMessage,
};

/** The message split into records by its format's parser. */
export function parseApelMessage(text: string): ParseOutcome {
  const detected = detectApelFormat(text);
  switch (detected.format) {
    case 'cloud-text':
      return parseCloudText(text);
    case 'star-xml':
      return parseStarXml(text);
    case 'ip-json':
      return parseIpJson(detected.json);
    case 'accelerator-json':
      return parseAcceleratorJson(detected.json);
    case 'energy-json':
      return parseEnergyJson(detected.json);
    case 'unknown':
      return { problem: detected.problem };
  }
}

function normaliseApelMessage(envelope: RawEnvelope): Normalised {
  const text = envelope.message.startsWith('\uFEFF') ? envelope.message.slice(1) : envelope.message;
  const origin = describeOrigin(envelope);
  const parsed = parseApelMessage(text);
  if (parsed.problem) return { records: [], rejections: [{ reasons: [withOrigin(parsed.problem, origin)] }] };
  const { recordType, format, parts } = parsed.message;
  const build = builders[recordType];
  const coordinates = envelopeSource(envelope);
  const records: NormalisedRecord[] = [];
  const rejections: Rejection[] = [];
  // nothing is dropped silently: a message without a record is refused, not taken as done
  if (parts.length === 0) rejections.push({ reasons: [{ code: 'RECORD_INVALID', rule: 'no-records', message: `the ${format} message holds no record (${origin})` }] });
  for (const part of parts) {
    const where = `${origin}, record ${part.number} of ${parts.length} at ${part.at}`;
    const problems = part.problems.map((problem) => withOrigin(problem, where));
    const outcome = part.fields === null ? undefined : checkedForAvro(build(part.fields, { origin: where, source: { ...coordinates, format, record_number: part.number }, written: part.written }), where);
    if (outcome?.record && problems.length === 0) {
      records.push(outcome.record);
      continue;
    }
    const reasons = [...problems, ...(outcome?.reasons ?? [])];
    // a message of one record is refused whole: its dead letter keeps the original bytes
    rejections.push(parts.length === 1 ? { reasons } : { reasons, original: part.original });
  }
  return { records, rejections };
}
