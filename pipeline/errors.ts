/**
 * Every error Tally raises on purpose is a TallyError with a stable code.
 * `retriable` decides the delivery path: retriable → back off, do not commit;
 * permanent → dead-letter topic (for records) or exit with the message (for config).
 */
export const errorCodes = {
  CONFIG_INVALID: 'the configuration file or an override breaks the configuration schema',
  CONFIG_UNREADABLE: 'the configuration file cannot be read or is not YAML',
  SERVICE_ARTIFACT: 'a Kafka, Elasticsearch or Schema Registry artifact could not be downloaded or unpacked',
  SERVICE_START: 'a local service did not become ready',
  SERVICE_JAVA: 'no suitable Java runtime was found',
  SERVICE_CONFLICT: 'a local service of this checkout runs on other ports than the configuration names; stop it first',
  LISTEN_FAILED: 'a server (beats, http, the operator\'s endpoints) cannot listen on its address: the port is taken, privileged, or the host is not this machine\'s',
  KAFKA_RETRIABLE: 'Kafka did not acknowledge in time or is unreachable; retrying may succeed',
  KAFKA_PERMANENT: 'Kafka refused the request in a way that retrying will not fix',
  KAFKA_AUTH: 'Kafka refused the SASL login (user, mechanism or password); fix the configuration',
  KAFKA_TLS: 'TLS with Kafka failed: the broker\'s certificate is not trusted, the broker refused Tally\'s client certificate or wants one, or kafka.ssl.keyFile cannot be used; fix kafka.ssl',
  KAFKA_BACKEND_UNAVAILABLE: 'the chosen Kafka client backend cannot be loaded',
  ES_RETRIABLE: 'Elasticsearch is unreachable or overloaded; retrying may succeed',
  ES_AUTH: 'Elasticsearch refused the credentials (user and password, or API key); fix the configuration',
  ES_TLS: 'the TLS handshake with Elasticsearch failed (an untrusted or mismatched certificate); fix elasticsearch.caFile',
  ES_PERMANENT: 'Elasticsearch rejected a request for a reason retrying will not fix',
  KIBANA_UNREACHABLE: 'Kibana did not answer, is not ready (503) or a proxy in front failed (502, 504); retrying may succeed',
  KIBANA_AUTH: 'Kibana refused the credentials (kibana.auth, else the elasticsearch ones) or the user lacks a privilege the import needs',
  KIBANA_VERSION: 'Kibana is older than the saved objects need (8.9), or did not say its version',
  KIBANA_IMPORT: 'Kibana refused the saved objects, or created only some of them; retrying will not fix it',
  REGISTRY_UNREACHABLE: 'the schema registry did not answer, or answered 5xx; retrying may succeed',
  REGISTRY_AUTH: 'the schema registry refused the credentials (registry.username and password); fix the configuration',
  REGISTRY_TLS: 'the TLS handshake with the schema registry failed (an untrusted certificate); fix registry.caFile',
  REGISTRY_INCOMPATIBLE: 'the schema registry refused a schema that breaks the subject\'s compatibility level',
  REGISTRY_SCHEMA_INVALID: 'the schema registry refused a schema it cannot parse',
  REGISTRY_NOT_FOUND: 'the schema registry has no such subject, version or schema id',
  RECORD_UNPARSABLE: 'an input record is not valid JSON, CSV, XML or text of its kind',
  RECORD_INVALID: 'an input record parsed but breaks its kind\'s schema or rules',
  RECORD_TOO_LARGE: 'an input record is over the configured size limit',
  RECORD_UNRENDERABLE: 'a normalised record cannot be rendered in an output format (APEL, Avro)',
  NORMALISER_FAILED: 'a normaliser threw on a record (a bug in Tally): the record is dead-lettered with the error; report it',
  STAGE_STALLED: 'a stage had work pending and made no progress for ops.watchdogMs; it exits (code 75) for its supervisor to start it again',
  EVENT_LOOP_BLOCKED: 'a stage\'s event loop did not turn for ops.blockedLoopMs (a call that never returns); a watchdog thread ends it with SIGKILL for its supervisor to start it again',
  PROTOCOL_ERROR: 'a client broke the wire protocol (lumberjack, HTTP); that connection is closed',
  NOT_BUILT: 'the command exists in the design but is not built yet',
  USAGE: 'the command line is not valid',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class TallyError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TallyError';
    this.code = code;
    this.retriable = options.retriable ?? (code === 'KAFKA_RETRIABLE' || code === 'ES_RETRIABLE' || code === 'REGISTRY_UNREACHABLE' || code === 'KIBANA_UNREACHABLE');
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retriable: this.retriable, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isTallyError(error: unknown, code?: ErrorCode): error is TallyError {
  return error instanceof TallyError && (code === undefined || error.code === code);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
