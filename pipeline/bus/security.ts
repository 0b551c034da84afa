import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { KafkaConfig as KafkajsConfig, SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config/types.js';
import { TallyError, messageOf } from '../errors.js';

/** What a TLS client of the brokers presents and trusts: kafka.ssl's files, read. */
export interface ClientTls {
  rejectUnauthorized: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
}

/**
 * kafka.ssl's files, read, with the client certificate and key checked together, so a key that
 * does not decrypt or does not belong to the certificate stops the stage here, naming the setting,
 * instead of failing every connection (kafkajs) or the client's creation (rdkafka) in words of
 * OpenSSL's. Undefined when TLS is off.
 */
export function clientTls(config: KafkaConfig): ClientTls | undefined {
  const ssl = config.ssl?.enabled ? config.ssl : undefined;
  if (!ssl) return undefined;
  const passphrase = sslKeyPassword(config);
  const out: ClientTls = {
    rejectUnauthorized: ssl.rejectUnauthorized,
    ca: readOptional(ssl.caFile, 'kafka.ssl.caFile'),
    cert: readOptional(ssl.certFile, 'kafka.ssl.certFile'),
    key: readOptional(ssl.keyFile, 'kafka.ssl.keyFile'),
    ...(passphrase !== undefined ? { passphrase } : {}),
  };
  if (out.cert && out.key) checkClientKey(config, out);
  return out;
}

function checkClientKey(config: KafkaConfig, files: ClientTls): void {
  try {
    tls.createSecureContext({ cert: files.cert, key: files.key, passphrase: files.passphrase });
  } catch (error) {
    const ssl = config.ssl;
    const reason = files.passphrase ? messageOf(error).replaceAll(files.passphrase, '[redacted]') : messageOf(error);
    const encrypted = /bad decrypt|passphrase|PEM lib|bad password/i.test(reason);
    const source = ssl?.keyPasswordFile ? `kafka.ssl.keyPasswordFile ${ssl.keyPasswordFile}` : ssl?.keyPassword !== undefined ? 'kafka.ssl.keyPassword' : undefined;
    const fix = encrypted
      ? source
        ? `the passphrase from ${source} does not decrypt it: give the key's passphrase`
        : 'the key is encrypted: give its passphrase in kafka.ssl.keyPasswordFile (or kafka.ssl.keyPassword)'
      : /mismatch/i.test(reason)
        ? `it is not the private key of kafka.ssl.certFile ${ssl?.certFile ?? ''}: give the key the certificate was made for`
        : 'give a PEM certificate and its PEM private key';
    throw new TallyError('KAFKA_TLS', `the client key for Kafka at ${config.brokers.join(',')} cannot be used: kafka.ssl.keyFile ${ssl?.keyFile ?? ''} (${reason}): ${fix}`, {
      retriable: false,
      cause: error,
      details: { brokers: config.brokers, certFile: ssl?.certFile, keyFile: ssl?.keyFile },
    });
  }
}

/** Tally's kafka.ssl and kafka.sasl as kafkajs options: the same settings as rdkafkaSecurity. */
export function kafkajsSecurity(config: KafkaConfig): Pick<KafkajsConfig, 'ssl' | 'sasl'> {
  const ssl = clientTls(config);
  return {
    ...(ssl ? { ssl } : {}),
    ...(config.sasl ? { sasl: { mechanism: config.sasl.mechanism, username: config.sasl.username, password: saslPassword(config) ?? '' } as SASLOptions } : {}),
  };
}

/** Tally's kafka.ssl and kafka.sasl as librdkafka properties: the same settings as kafkajsSecurity. */
export function rdkafkaSecurity(config: KafkaConfig): Record<string, string | boolean> {
  const ssl = config.ssl?.enabled ? config.ssl : undefined;
  const out: Record<string, string | boolean> = {};
  if (config.sasl) {
    out['security.protocol'] = ssl ? 'sasl_ssl' : 'sasl_plaintext';
    out['sasl.mechanisms'] = config.sasl.mechanism.toUpperCase();
    out['sasl.username'] = config.sasl.username;
    out['sasl.password'] = saslPassword(config) ?? '';
  } else if (ssl) {
    out['security.protocol'] = 'ssl';
  }
  const files = clientTls(config);
  if (ssl && files) {
    if (ssl.caFile) out['ssl.ca.location'] = ssl.caFile;
    if (ssl.certFile) out['ssl.certificate.location'] = ssl.certFile;
    if (ssl.keyFile) out['ssl.key.location'] = ssl.keyFile;
    if (files.passphrase !== undefined) out['ssl.key.password'] = files.passphrase;
    out['enable.ssl.certificate.verification'] = ssl.rejectUnauthorized;
  }
  return out;
}

/** Secrets come from the config, from files or from TALLY_KAFKA_PASSWORD, and are never logged. */
export function saslPassword(config: KafkaConfig): string | undefined {
  const sasl = config.sasl;
  if (!sasl) return undefined;
  if (sasl.passwordFile) return readSecretFile(sasl.passwordFile, 'kafka.sasl.passwordFile');
  return sasl.password ?? process.env.TALLY_KAFKA_PASSWORD;
}

/** The passphrase of an encrypted kafka.ssl.keyFile, from keyPasswordFile or keyPassword; never logged. */
export function sslKeyPassword(config: KafkaConfig): string | undefined {
  const ssl = config.ssl;
  if (!ssl?.keyFile) return undefined;
  if (ssl.keyPasswordFile) return readSecretFile(ssl.keyPasswordFile, 'kafka.ssl.keyPasswordFile');
  return ssl.keyPassword;
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

