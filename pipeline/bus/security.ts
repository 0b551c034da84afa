import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Kafka } from 'kafkajs';
import type { KafkaConfig } from '../config/types.js';
import { TallyError, messageOf } from '../errors.js';

/** Secrets come from the config, from files or from TALLY_KAFKA_PASSWORD, and are never logged. */
export function saslPassword(config: KafkaConfig): string | undefined {
  const sasl = config.sasl;
  if (!sasl) return undefined;
  if (sasl.passwordFile) return readSecretFile(sasl.passwordFile, 'kafka.sasl.passwordFile');
  return sasl.password ?? process.env.TALLY_KAFKA_PASSWORD;
}

/** Where the SASL password was taken from, for an error a person can act on (never the password). */
export function passwordSource(config: KafkaConfig): string {
  const sasl = config.sasl;
  if (sasl?.passwordFile) return `kafka.sasl.passwordFile ${sasl.passwordFile}`;
  if (sasl?.password !== undefined) return 'kafka.sasl.password (configuration file, --set or TALLY_KAFKA__SASL__PASSWORD)';
  if (process.env.TALLY_KAFKA_PASSWORD !== undefined) return 'the TALLY_KAFKA_PASSWORD environment variable';
  return 'nowhere: no kafka.sasl.password, kafka.sasl.passwordFile or TALLY_KAFKA_PASSWORD is set';
}

/** A secret file's content without the trailing newline editors add; the error names the file, not what is in it. */
export function readSecretFile(file: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new TallyError('CONFIG_UNREADABLE', `cannot read ${setting} ${file}: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`, { cause: error });
  }
}

export function readOptional(file: string | undefined, setting = 'kafka.ssl file'): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new TallyError('CONFIG_UNREADABLE', `cannot read ${setting} ${file}: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`, { cause: error });
  }
}

const tlsTrustCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function chain(error: unknown): { name?: string; code?: unknown; message?: string }[] {
  const out: { name?: string; code?: unknown; message?: string }[] = [];
  let current = error as { name?: string; code?: unknown; message?: string; cause?: unknown; originalError?: unknown } | undefined;
  while (current && typeof current === 'object' && out.length < 8) {
    out.push(current);
    current = (current.originalError ?? current.cause) as typeof current;
  }
  return out;
}

function scrub(text: string, config: KafkaConfig): string {
  const password = safePassword(config);
  return password ? text.replaceAll(password, '[redacted]') : text;
}

function safePassword(config: KafkaConfig): string | undefined {
  try {
    return saslPassword(config) || undefined;
  } catch {
    return undefined;
  }
}

function authError(config: KafkaConfig, reason: string, cause: unknown): TallyError {
  const sasl = config.sasl;
  const who = sasl ? `SASL ${sasl.mechanism.toUpperCase()} authentication of user "${sasl.username}"` : 'authentication';
  return new TallyError(
    'KAFKA_AUTH',
    `Kafka at ${config.brokers.join(',')} refused ${who} (${scrub(reason, config)}): check kafka.sasl.username, kafka.sasl.mechanism and the password, taken from ${passwordSource(config)}`,
    { retriable: false, cause, details: { brokers: config.brokers, ...(sasl ? { mechanism: sasl.mechanism, username: sasl.username } : {}), kafkaError: 'SASL_AUTHENTICATION_FAILED' } },
  );
}

function tlsError(config: KafkaConfig, reason: string, cause: unknown): TallyError {
  const ca = config.ssl?.caFile;
  return new TallyError(
    'KAFKA_TLS',
    `TLS handshake with Kafka at ${config.brokers.join(',')} failed: the broker's certificate is not trusted (${reason}): ${ca ? `kafka.ssl.caFile ${ca} is not the CA that signed it` : 'set kafka.ssl.caFile to the CA that signed it (only the system CAs are trusted now)'}`,
    { retriable: false, cause, details: { brokers: config.brokers, ...(ca ? { caFile: ca } : {}) } },
  );
}

/** A refused login or an untrusted broker certificate, as the typed error it is; undefined for anything else. */
export function securityError(config: KafkaConfig, error: unknown): TallyError | undefined {
  if (error instanceof TallyError && (error.code === 'KAFKA_AUTH' || error.code === 'KAFKA_TLS')) return error;
  for (const link of chain(error)) {
    const message = link.message ?? '';
    if (link.name === 'KafkaJSSASLAuthenticationError' || /SASL authentication (error|failed)|authentication failed/i.test(message) || link.code === -169) return authError(config, message, error);
    if ((typeof link.code === 'string' && tlsTrustCodes.has(link.code)) || /certificate verify failed/i.test(message)) return tlsError(config, typeof link.code === 'string' ? `${link.code}: ${message}` : message, error);
  }
  return undefined;
}

/** Connect to the first broker the way the client does: 'reachable', 'unreachable', or the certificate refusal. */
function probeBroker(config: KafkaConfig, timeoutMs: number): Promise<TallyError | 'reachable' | 'unreachable'> {
  const broker = config.brokers[0] ?? '';
  const at = broker.lastIndexOf(':');
  const host = broker.slice(0, at);
  const port = Number(broker.slice(at + 1));
  const ssl = config.ssl?.enabled ? config.ssl : undefined;
  return new Promise((resolve) => {
    const socket = ssl
      ? tls.connect({ host, port, ...(ssl.caFile ? { ca: readOptional(ssl.caFile, 'kafka.ssl.caFile') } : {}), servername: /^[0-9.]+$|:/.test(host) ? undefined : host, rejectUnauthorized: ssl.rejectUnauthorized, timeout: timeoutMs })
      : net.connect({ host, port, timeout: timeoutMs });
    const done = (value: TallyError | 'reachable' | 'unreachable'): void => {
      socket.destroy();
      resolve(value);
    };
    socket.once(ssl ? 'secureConnect' : 'connect', () => done('reachable'));
    socket.once('timeout', () => done('unreachable'));
    socket.once('error', (error) => done(securityError(config, error) ?? 'unreachable'));
  });
}

/**
 * When a client could not start on a secured cluster, find out whether the login or the
 * certificate was refused (the native backend reports both as a transport failure), so the stage
 * stops with a message to act on instead of retrying. A broker that is simply away keeps the
 * original, retriable error.
 */
export async function diagnoseSecurity(config: KafkaConfig, client: Kafka, error: unknown, timeoutMs = 5000): Promise<unknown> {
  const direct = securityError(config, error);
  if (direct) return direct;
  if (!config.sasl && !config.ssl?.enabled) return error;
  const broker = await probeBroker(config, timeoutMs).catch(() => 'unreachable' as const);
  if (broker instanceof TallyError) return broker;
  if (broker === 'unreachable' || !config.sasl) return error;
  const admin = client.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    return error;
  } catch (probeError) {
    return securityError(config, probeError) ?? error;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
