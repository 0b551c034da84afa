import net from 'node:net';
import tls from 'node:tls';
import type { Kafka } from 'kafkajs';
import type { KafkaConfig } from '../config/types.js';
import { TallyError } from '../errors.js';
import { clientTls, passwordSource, saslPassword, sslKeyPassword } from './security.js';

/** Node's codes for a broker certificate this client does not trust. */
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

/** The TLS alerts a broker sends when it refuses this client's certificate, or wants one and got none. */
const clientCertificateAlert = /alert (bad certificate|certificate unknown|certificate required|unknown ca|certificate expired|certificate revoked|unsupported certificate)/i;

type Link = { name?: string; code?: unknown; message?: string };

function chain(error: unknown): Link[] {
  const out: Link[] = [];
  let current = error as (Link & { cause?: unknown; originalError?: unknown }) | undefined;
  while (current && typeof current === 'object' && out.length < 8) {
    out.push(current);
    current = (current.originalError ?? current.cause) as typeof current;
  }
  return out;
}

function scrub(text: string, config: KafkaConfig): string {
  return [safely(saslPassword, config), safely(sslKeyPassword, config)].reduce<string>((out, secret) => (secret ? out.replaceAll(secret, '[redacted]') : out), text);
}

function safely(secret: (config: KafkaConfig) => string | undefined, config: KafkaConfig): string | undefined {
  try {
    return secret(config) || undefined;
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

function clientCertificateError(config: KafkaConfig, reason: string, cause: unknown): TallyError {
  const certFile = config.ssl?.certFile;
  const brokers = config.brokers.join(',');
  const message = certFile
    ? `Kafka at ${brokers} refused the client certificate kafka.ssl.certFile ${certFile} (${reason}): give one signed by a CA in the broker's truststore, valid now and allowed for client authentication`
    : `Kafka at ${brokers} requires a client certificate and Tally sent none (${reason}): set kafka.ssl.certFile and kafka.ssl.keyFile to a certificate signed by a CA the broker trusts, and its key`;
  return new TallyError('KAFKA_TLS', message, { retriable: false, cause, details: { brokers: config.brokers, ...(certFile ? { certFile } : {}), refused: 'client certificate' } });
}

/** A refused login, an untrusted broker certificate or a refused client certificate, as the typed error it is; undefined for anything else. */
export function securityError(config: KafkaConfig, error: unknown): TallyError | undefined {
  if (error instanceof TallyError && (error.code === 'KAFKA_AUTH' || error.code === 'KAFKA_TLS')) return error;
  const links = chain(error);
  for (const link of links) {
    const message = link.message ?? '';
    const code = typeof link.code === 'string' ? link.code : undefined;
    if (link.name === 'KafkaJSSASLAuthenticationError' || /SASL authentication (error|failed)|authentication failed/i.test(message) || link.code === -169) return authError(config, message, error);
    if ((code && tlsTrustCodes.has(code)) || /certificate verify failed/i.test(message)) return tlsError(config, code ? `${code}: ${message}` : message, error);
    const alert = clientCertificateAlert.exec(message);
    if (alert) {
      const opensslCode = links.map((l) => l.code).find((c): c is string => typeof c === 'string' && c.startsWith('ERR_SSL'));
      return clientCertificateError(config, `TLS alert "${alert[1]}"${opensslCode ? `, ${opensslCode}` : ''}`, error);
    }
  }
  return undefined;
}

/** An ApiVersions v0 request, which every listener answers before any login: a TLS 1.3 broker refuses a client certificate only once data flows. */
function apiVersionsRequest(): Buffer {
  const clientId = Buffer.from('tally-probe');
  const body = Buffer.alloc(10);
  body.writeInt16BE(18, 0); // api key: ApiVersions
  body.writeInt16BE(0, 2); // version 0
  body.writeInt32BE(1, 4); // correlation id
  body.writeInt16BE(clientId.length, 8);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length + clientId.length);
  return Buffer.concat([size, body, clientId]);
}

/** Talk to the first broker the way the client does: 'reachable' once it answers, 'unreachable', or the certificate refusal. */
async function probeBroker(config: KafkaConfig, timeoutMs: number): Promise<TallyError | 'reachable' | 'unreachable'> {
  const broker = config.brokers[0] ?? '';
  const at = broker.lastIndexOf(':');
  const host = broker.slice(0, at);
  const port = Number(broker.slice(at + 1));
  const ssl = clientTls(config);
  return new Promise((resolve) => {
    const socket = ssl ? tls.connect({ host, port, ...ssl, servername: /^[0-9.]+$|:/.test(host) ? undefined : host, timeout: timeoutMs }) : net.connect({ host, port, timeout: timeoutMs });
    const done = (value: TallyError | 'reachable' | 'unreachable'): void => {
      socket.destroy();
      resolve(value);
    };
    socket.once(ssl ? 'secureConnect' : 'connect', () => socket.write(apiVersionsRequest()));
    socket.once('data', () => done('reachable'));
    socket.once('close', () => done('unreachable'));
    socket.once('timeout', () => done('unreachable'));
    socket.once('error', (error) => done(securityError(config, error) ?? 'unreachable'));
  });
}

/**
 * When a client could not start on a secured cluster, find out whether the login or a
 * certificate was refused (the native backend reports each as a transport failure), so the stage
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
