import type { RejectionReason } from '../dlq.js';
import { describeOrigin, type RawEnvelope } from '../envelope.js';
import { envelopeZone, utc, type Zone } from './common/date-time.js';
import { jsonProblem } from './common/json-problem.js';
import { describeValue } from './common/source.js';
import { readJsonRecord } from './oslo/json-line.js';
import { opsLogRecord, opsLogsTopic, type LineReading } from './oslo/log-event.js';
import { TracebackJoiner } from './oslo/join.js';
import { readTextRecord } from './oslo/text-line.js';
import type { Normalised, Normaliser } from './types.js';

/**
 * kind `oslo-log`: one oslo.log event becomes one ops.logs record. The envelope's message is a
 * text record, its first line `DATE TIME.mmm PID LEVEL logger [context] [instance: UUID] message`
 * in any release's bracket shape and its continuation lines (traceback, embedded newlines) after
 * it, joined by the shipper (Filebeat multiline) or by the transform (oslo/join.ts); or one
 * JSON-formatter line. Zone-less times are read in the input's `fields.timezone`, else in the
 * default zone (UTC unless configured).
 */

export interface OsloLogOptions {
  /** the zone of zone-less times when the envelope names none */
  defaultZone?: Zone;
}

export function createOsloLogNormaliser(options: OsloLogOptions = {}): Normaliser {
  const defaultZone = options.defaultZone ?? utc;
  return { kind: 'oslo-log', topics: [opsLogsTopic], normalise: (envelope) => normaliseOsloLog(envelope, defaultZone), createJoiner: () => new TracebackJoiner() };
}

export const osloLogNormaliser: Normaliser = createOsloLogNormaliser();

function normaliseOsloLog(envelope: RawEnvelope, defaultZone: Zone): Normalised {
  const origin = describeOrigin(envelope);
  const rejected = (reason: Omit<RejectionReason, 'message'>, text: string): Normalised => ({ records: [], rejections: [{ reasons: [{ ...reason, message: `${text} (${origin})` }] }] });
  const message = envelope.message;
  if (message.trim() === '') return rejected({ code: 'RECORD_UNPARSABLE', rule: 'oslo-header' }, 'the line is empty, expected an oslo.log line');
  const zone = envelopeZone(envelope, defaultZone);
  if (zone === null) return rejected({ code: 'RECORD_INVALID', rule: 'timezone', path: '/fields/timezone' }, `the input's fields.timezone ${describeValue(envelope.fields?.timezone)} is not a time zone (an IANA name such as Europe/Paris, or an offset such as +02:00)`);

  let outcome: LineReading;
  if (message.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch (error) {
      return rejected({ code: 'RECORD_UNPARSABLE', rule: 'json' }, `the line starts like an oslo.log JSON-formatter line, but ${jsonProblem(message, error)}`);
    }
    outcome = readJsonRecord(parsed, envelope, zone);
  } else {
    outcome = readTextRecord(envelope, zone);
  }
  if (!outcome.ok) {
    const { text, ...reason } = outcome.reason;
    return rejected(reason, text);
  }
  return { records: [opsLogRecord(outcome.facts, envelope)], rejections: [] };
}
