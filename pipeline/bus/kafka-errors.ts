import { TallyError } from '../errors.js';

/** Kafka error codes (protocol names or librdkafka names) that retrying cannot fix. Everything else is retriable: never drop on doubt. */
const permanentKafkaErrors = new Set([
  'MESSAGE_TOO_LARGE',
  'MSG_SIZE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'UNSUPPORTED_VERSION',
  'INVALID_REQUIRED_ACKS',
  'POLICY_VIOLATION',
  'TOPIC_ALREADY_EXISTS',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_CONFIG',
]);

/** Kafka protocol error codes (librdkafka reports broker and size errors by these numbers) of the permanent errors above. */
const protocolErrorNames: Record<number, string> = {
  2: 'CORRUPT_MESSAGE',
  10: 'MESSAGE_TOO_LARGE',
  17: 'INVALID_TOPIC_EXCEPTION',
  18: 'RECORD_LIST_TOO_LARGE',
  21: 'INVALID_REQUIRED_ACKS',
  29: 'TOPIC_AUTHORIZATION_FAILED',
  30: 'GROUP_AUTHORIZATION_FAILED',
  31: 'CLUSTER_AUTHORIZATION_FAILED',
  33: 'UNSUPPORTED_SASL_MECHANISM',
  35: 'UNSUPPORTED_VERSION',
  44: 'POLICY_VIOLATION',
  58: 'SASL_AUTHENTICATION_FAILED',
  87: 'INVALID_RECORD',
};

export function kafkaErrorName(error: unknown): string | undefined {
  const e = error as { type?: string; name?: string; code?: number | string; cause?: unknown; originalError?: unknown; message?: string };
  if (typeof e?.type === 'string') return e.type;
  if (typeof e?.code === 'number' && protocolErrorNames[e.code]) return protocolErrorNames[e.code];
  // librdkafka's delivery reports of a broker refusal carry code -1 and only the text
  if (typeof e?.message === 'string' && /message size too large/i.test(e.message)) return 'MESSAGE_TOO_LARGE';
  const nested = e?.originalError ?? e?.cause;
  if (nested) return kafkaErrorName(nested);
  if (typeof e?.message === 'string') {
    const upper = /Broker: ([A-Za-z ]+)/.exec(e.message)?.[1];
    if (upper) return upper.trim().toUpperCase().replaceAll(' ', '_');
  }
  return undefined;
}

export function toKafkaError(action: string, error: unknown): TallyError {
  if (error instanceof TallyError) return error;
  const name = kafkaErrorName(error);
  const permanent = name !== undefined && permanentKafkaErrors.has(name);
  const reason = error instanceof Error ? error.message : String(error);
  return new TallyError(permanent ? 'KAFKA_PERMANENT' : 'KAFKA_RETRIABLE', `${action} failed: ${reason}${name ? ` (${name})` : ''}`, {
    retriable: !permanent,
    cause: error,
    details: name ? { kafkaError: name } : undefined,
  });
}
