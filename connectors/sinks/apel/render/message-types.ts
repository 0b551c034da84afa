import { TallyError, isTallyError, messageOf } from '../../../../pipeline/errors.js';
import { renderAcceleratorRecord, acceleratorFraming, type AcceleratorRecord } from './accelerator-json.js';
import { cloudFraming, renderCloudRecord, type VmRecord } from './cloud-text.js';
import { isAscii } from './ascii.js';
import type { MessageFraming, Rendered } from './framing.js';
import { ipFraming, renderIpRecord, type IpRecord } from './ip-json.js';
import { renderStarRecord, starFraming, type StorageRecord } from './star-xml.js';

export interface RenderOptions {
  zeroDurationsAsOne: boolean;
  ipRecordUuid: boolean;
}

/** One APEL message type: the domain topic it is made from, its framing, and how one decoded record renders. */
export interface ApelMessageType {
  /** also the batcher's record type: one message never mixes two */
  type: 'cloud' | 'ip' | 'accelerator' | 'storage';
  topic: string;
  framing: MessageFraming;
  render(record: Record<string, unknown>, options: RenderOptions): Rendered;
}

/** The order cASO's SSM messenger writes its messages in. */
export const apelMessageTypes: readonly ApelMessageType[] = [
  { type: 'cloud', topic: 'cloud.vm', framing: cloudFraming, render: (r, o) => renderCloudRecord(r as unknown as VmRecord, { zeroDurationsAsOne: o.zeroDurationsAsOne }) },
  { type: 'ip', topic: 'cloud.ip', framing: ipFraming, render: (r, o) => renderIpRecord(r as unknown as IpRecord, { includeUuid: o.ipRecordUuid }) },
  { type: 'accelerator', topic: 'cloud.accelerator', framing: acceleratorFraming, render: (r) => renderAcceleratorRecord(r as unknown as AcceleratorRecord) },
  { type: 'storage', topic: 'cloud.storage', framing: starFraming, render: (r) => renderStarRecord(r as unknown as StorageRecord) },
];

export const framingsByType: Readonly<Record<string, MessageFraming>> = Object.fromEntries(apelMessageTypes.map((t) => [t.type, t.framing]));

export function messageTypeOfTopic(logicalTopic: string): ApelMessageType | undefined {
  return apelMessageTypes.find((t) => t.topic === logicalTopic);
}

/**
 * One decoded record rendered, or RECORD_UNRENDERABLE: a renderer's rule, a record off its schema
 * (a field missing), or, as a last guard, text that is not ASCII are that record's problem only.
 */
export function renderRecord(type: ApelMessageType, record: Record<string, unknown>, options: RenderOptions): Rendered {
  let rendered: Rendered;
  try {
    rendered = type.render(record, options);
  } catch (error) {
    if (isTallyError(error)) throw error;
    throw new TallyError('RECORD_UNRENDERABLE', `the record does not have the fields the APEL renderer reads: ${messageOf(error)}`, { cause: error });
  }
  if (!isAscii(rendered.text)) throw new TallyError('RECORD_UNRENDERABLE', 'the rendered record is not ASCII');
  return rendered;
}
