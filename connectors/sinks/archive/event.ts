import { avroDocument } from '../elasticsearch/avro-document.js';
import type { IncomingMessage } from '../../../pipeline/bus/types.js';
import { TallyError } from '../../../pipeline/errors.js';
import type { WindowEvent } from './window.js';

export const archivedTopic = 'ops.logs';

interface LogDocument {
  log?: { level?: string; level_number?: number };
  service?: { name?: string | null };
  trace_id?: string | null;
  transaction_id?: string | null;
}

/**
 * What the window needs of one ops.logs message; the value itself stays in the message (the
 * document is decoded again only for the events that are archived). Throws RECORD_UNPARSABLE for a
 * value that is not an ops.logs record of this schema, RECORD_INVALID for one without id or time.
 */
export function windowEventOf(message: IncomingMessage & { value: Buffer }): WindowEvent {
  const { document, id, timeMs } = avroDocument(archivedTopic, 'timestamp', message);
  if (id === undefined) throw new TallyError('RECORD_INVALID', 'an ops.logs record without an id cannot be archived idempotently');
  if (timeMs === undefined) throw new TallyError('RECORD_INVALID', `ops.logs record ${id} has no timestamp`);
  const log = document as LogDocument;
  return {
    id,
    timeMs,
    level: log.log?.level ?? 'UNKNOWN',
    levelNumber: log.log?.level_number ?? 0,
    service: log.service?.name ?? null,
    request: log.trace_id ?? log.transaction_id ?? null,
    source: `${message.topic}/${message.partition}`,
    bytes: message.value.length,
  };
}
