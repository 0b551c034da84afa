import type { HttpCredentials } from '../http-credentials.js';

/** The validated configuration, defaults applied. Mirrors schemas/json/config.schema.json. */
export type KafkaBackendName = 'kafkajs' | 'rdkafka';

export interface KafkaConfig {
  backend: KafkaBackendName;
  brokers: string[];
  clientId: string;
  topicPrefix: string;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  requestTimeoutMs: number;
  produceRetries: number;
  batchMaxMessages: number;
  /** bytes of records (before compression) per produce request: under the broker's message.max.bytes */
  batchMaxBytes: number;
  lingerMs: number;
  sessionTimeoutMs: number;
  maxInFlight: number;
  commitIntervalMs: number;
  ssl?: { enabled: boolean; caFile?: string; certFile?: string; keyFile?: string; keyPassword?: string; keyPasswordFile?: string; rejectUnauthorized: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password?: string; passwordFile?: string };
}

export interface ElasticsearchConfig extends HttpCredentials {
  url: string;
  caFile?: string;
  indexPrefix: string;
  requestTimeoutMs: number;
}

/** Kibana, where `tally setup` imports the saved objects: its own credentials (else the Elasticsearch ones). */
export interface KibanaConfig {
  auth?: HttpCredentials;
  requestTimeoutMs: number;
}

/** The client side of a Confluent-compatible Schema Registry (Confluent's, Apicurio's ccompat API, Karapace). */
export interface RegistryConfig {
  /** false: bare Avro with the fingerprint header, no registry, even beside the local Kafka */
  enabled: boolean;
  /** base URL of the Confluent API: `<url>/subjects` lists the subjects */
  url: string;
  username?: string;
  password?: string;
  passwordFile?: string;
  caFile?: string;
  requestTimeoutMs: number;
}

/** The Confluent compatibility levels a registry enforces when a new schema version is registered. */
export type CompatibilityLevel = 'NONE' | 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE';

/** The local Schema Registry of `tally services`: Apicurio Registry storing its schemas in the local Kafka. */
export interface LocalRegistryConfig {
  version: string;
  port: number;
  managementPort: number;
  heap: string;
  startTimeoutMs: number;
  compatibility: CompatibilityLevel;
}

/**
 * The local Kafka of `tally services`. brokers, replicationFactor and minInsyncReplicas are optional
 * here because callers that build a one-broker config by hand may leave them out; after loading,
 * brokers is always set, and kafkaReplication() derives the others from it.
 */
export interface LocalKafkaConfig {
  version: string;
  port: number;
  controllerPort: number;
  heap: string;
  startTimeoutMs: number;
  brokers?: number;
  replicationFactor?: number;
  minInsyncReplicas?: number;
}

export interface ServicesConfig {
  dir: string;
  kafka: LocalKafkaConfig;
  elasticsearch: { version: string; httpPort: number; transportPort: number; heap: string; user: string; startTimeoutMs: number; nodes?: number };
  registry: LocalRegistryConfig;
}

export interface HttpConfig {
  host: string;
  port: number;
  defaultKind: string;
  maxBodyBytes: number;
  maxHeaderBytes: number;
  maxConcurrentRequests: number;
  maxInFlightBytes: number;
  retryAfterSeconds: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  bearerToken?: string;
  bearerTokenFile?: string;
  tls?: { certFile: string; keyFile: string; caFile?: string; clientCertificates: 'none' | 'optional' | 'required' };
}

export type KindName = 'accounting' | 'caso-json' | 'apel-message' | 'ror-audit' | 'openstack-audit' | 'oslo-log';

export interface TopicsConfig {
  partitions: number;
  /** -1: the broker's default */
  replicationFactor: number;
  /** the topic config min.insync.replicas on creation; absent: the broker's */
  minInsyncReplicas?: number;
}

export interface TransformConfig {
  groupId: string;
  kinds: KindName[];
  maxBatchMessages: number;
  /** a batch's records, dead letters and offsets in one Kafka transaction */
  exactlyOnce: boolean;
  transactionalId?: string;
  transactionTimeoutMs: number;
}

export interface ElasticsearchSinkConfig {
  groupId: string;
  topics: string[];
  concurrency: number;
  flushBytes: number;
  layout: 'monthly' | 'data-stream';
  kibanaUrl?: string;
}

export interface OpsConfig {
  host: string;
  port: number;
  stallTimeoutMs: number;
  lagIntervalMs: number;
  watchdogMs: number;
  blockedLoopMs: number;
}

export interface TallyConfig {
  kafka: KafkaConfig;
  elasticsearch: ElasticsearchConfig;
  kibana: KibanaConfig;
  registry: RegistryConfig;
  services: ServicesConfig;
  log: { level: string; pretty?: boolean };
  shutdown: { drainTimeoutMs: number };
  http: HttpConfig;
  topics: TopicsConfig;
  /** each input is checked by the file-tail connector's own schema */
  ship: { inputs: Record<string, unknown>[] };
  /** checked by the beats connector's own schema */
  beats: Record<string, unknown>;
  transform: TransformConfig;
  ops: OpsConfig;
  /** checked by the archive stage's own schema */
  archive: Record<string, unknown>;
  /** checked by the apel-queue connector's own schema */
  apelQueue: Record<string, unknown>;
  /** apel: checked by the APEL sink's own schema */
  sinks: { elasticsearch: ElasticsearchSinkConfig; apel: Record<string, unknown> };
}
