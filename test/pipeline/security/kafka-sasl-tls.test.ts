import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBus } from '../../../pipeline/bus/index.js';
import type { Bus, IncomingMessage } from '../../../pipeline/bus/types.js';
import { loadConfig } from '../../../pipeline/config/load.js';
import type { KafkaBackendName } from '../../../pipeline/config/types.js';
import { TallyError } from '../../../pipeline/errors.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { capturingLogger } from '../../support/secure/capture-log.js';
import { startSecureKafka, type ClientCertificate, type SaslUser, type SecureKafka } from '../../support/secure/kafka.js';
import { backends, eventually, freePort, uniqueName } from '../../support/world.js';

/**
 * Both backends against a broker of our own with two TLS listeners (certificates made here):
 * SASL_SSL with SCRAM and PLAIN, and SSL requiring a client certificate. The shared broker is
 * plaintext and must not be reconfigured.
 */
describe('Kafka over TLS: SASL (SCRAM, PLAIN) and client certificates', { timeout: 420_000 }, () => {
  let kafka: SecureKafka;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h-sec-kafka-test-'));
  before(async () => {
    kafka = await startSecureKafka();
  });
  after(async () => {
    await kafka?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsSets = (backend: KafkaBackendName, broker: string, caFile: string): string[] => [
    `kafka.backend=${backend}`,
    `kafka.brokers=["${broker}"]`,
    `kafka.topicPrefix=${uniqueName('h-sec')}.`,
    'kafka.ssl.enabled=true',
    `kafka.ssl.caFile=${caFile}`,
    'kafka.requestTimeoutMs=5000',
  ];
  const sets = (backend: KafkaBackendName, user: SaslUser, caFile: string): string[] => [
    ...tlsSets(backend, kafka.bootstrap, caFile),
    `kafka.sasl.mechanism=${user.mechanism}`,
    `kafka.sasl.username=${user.username}`,
  ];
  /** the listener that requires a client certificate, with `client`'s */
  const mtlsSets = (backend: KafkaBackendName, client?: ClientCertificate): string[] => [
    ...tlsSets(backend, kafka.mtlsBootstrap, kafka.caFile),
    ...(client ? [`kafka.ssl.certFile=${client.certFile}`, `kafka.ssl.keyFile=${client.keyFile}`] : []),
  ];
  const secretFile = (name: string, content: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, `${content}\n`, { mode: 0o600 });
    return file;
  };

  async function roundTrip(bus: Bus): Promise<void> {
    const topic = bus.topic('roundtrip');
    const admin = await bus.admin();
    try {
      await admin.createTopics([{ topic, partitions: 1 }]);
    } finally {
      await admin.close();
    }
    const producer = await bus.producer();
    try {
      await producer.send([{ topic, key: 'k-1', value: 'over SASL_SSL' }]);
    } finally {
      await producer.close();
    }
    const seen: IncomingMessage[] = [];
    const groupId = uniqueName('h-sec-g');
    const consumer = await bus.consumer({ groupId, topics: [topic], fromBeginning: true, commitIntervalMs: 0 });
    try {
      await consumer.run((messages) => {
        for (const m of messages) {
          seen.push(m);
          consumer.done(m);
        }
      });
      await eventually('the record back', 60_000, () => (seen.length > 0 ? true : undefined));
      assert.equal(seen[0]?.value?.toString(), 'over SASL_SSL');
      assert.equal(seen[0]?.key?.toString(), 'k-1');
      await consumer.commit();
    } finally {
      await consumer.close();
    }
    const check = await bus.admin();
    try {
      const offsets = await check.groupOffsets(groupId, topic);
      assert.equal(offsets[0]?.committed, '1', 'the offset commit went through the secured group coordinator');
    } finally {
      await check.close();
    }
  }

  function assertRefusal(error: unknown, code: 'KAFKA_AUTH' | 'KAFKA_TLS', mentions: RegExp, secrets: string[], broker = kafka.bootstrap): true {
    assert.ok(error instanceof TallyError, `a TallyError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.retriable, false, 'a refusal is not retried');
    assert.match(error.message, mentions);
    assert.ok(error.message.includes(broker), `names the broker: ${error.message}`);
    for (const secret of secrets) {
      assert.ok(!error.message.includes(secret), 'the password is not in the message');
      assert.ok(!JSON.stringify(error.toJSON()).includes(secret), 'nor in the JSON form');
    }
    return true;
  }

  for (const backend of backends) {
    test(`${backend}: SCRAM-SHA-512 over TLS, password from the environment; the debug log holds no password`, async () => {
      const captured = capturingLogger();
      const config = loadConfig({ env: { TALLY_KAFKA__SASL__PASSWORD: kafka.sha512.password }, sets: sets(backend, kafka.sha512, kafka.caFile) });
      assert.equal(config.kafka.sasl?.password, kafka.sha512.password);
      await roundTrip(createBus(config.kafka, captured.log));
      assert.ok(!captured.text().includes(kafka.sha512.password), 'password in the log');
    });

    test(`${backend}: SCRAM-SHA-256 over TLS (turned on by the kafka.ssl section alone), password from kafka.sasl.passwordFile`, async () => {
      const file = secretFile(`${backend}-password`, kafka.sha256.password);
      // no kafka.ssl.enabled: a kafka.ssl section alone turns TLS on
      const config = loadConfig({ env: {}, sets: [...sets(backend, kafka.sha256, kafka.caFile).filter((s) => s !== 'kafka.ssl.enabled=true'), `kafka.sasl.passwordFile=${file}`] });
      assert.equal(config.kafka.ssl?.enabled, true);
      await roundTrip(createBus(config.kafka, capturingLogger().log));
    });

    test(`${backend}: a wrong password is refused as KAFKA_AUTH, naming the user and where the password came from, not the password`, async () => {
      const captured = capturingLogger();
      const wrong = `wrong-${kafka.sha512.password}`;
      const config = loadConfig({ env: {}, sets: [...sets(backend, kafka.sha512, kafka.caFile), `kafka.sasl.password=${wrong}`] });
      const bus = createBus(config.kafka, captured.log);
      await assert.rejects(
        (async () => (await bus.producer()).close())(),
        (error: unknown) => assertRefusal(error, 'KAFKA_AUTH', /SCRAM-SHA-512 authentication of user "tally".*kafka\.sasl\.password/, [wrong, kafka.sha512.password]),
      );
      await assert.rejects(
        bus.consumer({ groupId: uniqueName('h-sec-g'), topics: [bus.topic('x')] }).then((c) => c.close()),
        (error: unknown) => assertRefusal(error, 'KAFKA_AUTH', /refused SASL/, [wrong]),
      );
      assert.ok(!captured.text().includes(wrong), 'wrong password in the log');
    });

    test(`${backend}: a broker certificate from an untrusted CA is refused as KAFKA_TLS, naming kafka.ssl.caFile`, async () => {
      const config = loadConfig({ env: {}, sets: [...sets(backend, kafka.sha512, kafka.untrustedCaFile), `kafka.sasl.password=${kafka.sha512.password}`] });
      const bus = createBus(config.kafka, capturingLogger().log);
      await assert.rejects(
        (async () => (await bus.producer()).close())(),
        (error: unknown) => assertRefusal(error, 'KAFKA_TLS', new RegExp(`not trusted.*kafka\\.ssl\\.caFile ${kafka.untrustedCaFile.replaceAll('.', '\\.')}`), [kafka.sha512.password]),
      );
    });
  }

  for (const backend of backends) {
    test(`${backend}: SASL PLAIN over TLS, password from kafka.sasl.passwordFile; a wrong one is refused as KAFKA_AUTH`, async () => {
      const captured = capturingLogger();
      const file = secretFile(`${backend}-plain-password`, kafka.plain.password);
      const config = loadConfig({ env: {}, sets: [...sets(backend, kafka.plain, kafka.caFile), `kafka.sasl.passwordFile=${file}`] });
      await roundTrip(createBus(config.kafka, captured.log));

      const wrong = `wrong-${kafka.plain.password}`;
      const refused = loadConfig({ env: {}, sets: [...sets(backend, kafka.plain, kafka.caFile), `kafka.sasl.password=${wrong}`] });
      const bus = createBus(refused.kafka, captured.log);
      await assert.rejects(
        (async () => (await bus.producer()).close())(),
        (error: unknown) => assertRefusal(error, 'KAFKA_AUTH', /SASL PLAIN authentication of user "tallyplain".*kafka\.sasl\.password/, [wrong, kafka.plain.password]),
      );
      await assert.rejects(
        bus.consumer({ groupId: uniqueName('h-sec-g'), topics: [bus.topic('x')] }).then((c) => c.close()),
        (error: unknown) => assertRefusal(error, 'KAFKA_AUTH', /refused SASL PLAIN/, [wrong]),
      );
      const log = captured.text();
      assert.ok(!log.includes(wrong) && !log.includes(kafka.plain.password), 'a PLAIN password in the log');
    });

    test(`${backend}: a client certificate signed by the CA is accepted where the broker requires one (ssl.client.auth=required)`, async () => {
      const config = loadConfig({ env: {}, sets: mtlsSets(backend, kafka.client) });
      await roundTrip(createBus(config.kafka, capturingLogger().log));
    });

    test(`${backend}: an encrypted client key with its passphrase from kafka.ssl.keyPasswordFile; the passphrase is in no log`, async () => {
      const captured = capturingLogger();
      const file = secretFile(`${backend}-key-password`, kafka.encryptedClient.keyPassword);
      const config = loadConfig({ env: {}, sets: [...mtlsSets(backend, kafka.encryptedClient), `kafka.ssl.keyPasswordFile=${file}`] });
      const bus = createBus(config.kafka, captured.log);
      const producer = await bus.producer();
      try {
        await producer.send([{ topic: bus.topic('encrypted-key'), key: 'k', value: 'with an encrypted key' }]);
      } finally {
        await producer.close();
      }
      assert.ok(!captured.text().includes(kafka.encryptedClient.keyPassword), 'the key passphrase in the log');
    });

    test(`${backend}: without a client certificate, or with one from another CA, the broker refuses Tally: KAFKA_TLS naming the broker and kafka.ssl.certFile`, async () => {
      const none = createBus(loadConfig({ env: {}, sets: mtlsSets(backend) }).kafka, capturingLogger().log);
      await assert.rejects(
        (async () => (await none.producer()).close())(),
        (error: unknown) => assertRefusal(error, 'KAFKA_TLS', /requires a client certificate and Tally sent none.*set kafka\.ssl\.certFile and kafka\.ssl\.keyFile/, [], kafka.mtlsBootstrap),
      );
      const other = createBus(loadConfig({ env: {}, sets: mtlsSets(backend, kafka.untrustedClient) }).kafka, capturingLogger().log);
      const refusedCertificate = new RegExp(`refused the client certificate kafka\\.ssl\\.certFile ${kafka.untrustedClient.certFile.replaceAll('.', '\\.')}.*signed by a CA in the broker's truststore`);
      await assert.rejects(
        (async () => (await other.producer()).close())(),
        (error: unknown) => assertRefusal(error, 'KAFKA_TLS', refusedCertificate, [], kafka.mtlsBootstrap),
      );
      await assert.rejects(
        other.consumer({ groupId: uniqueName('h-sec-g'), topics: [other.topic('x')] }).then((c) => c.close()),
        (error: unknown) => assertRefusal(error, 'KAFKA_TLS', refusedCertificate, [], kafka.mtlsBootstrap),
      );
    });
  }

  test('a client key that cannot be used stops the bus before it connects: KAFKA_TLS naming kafka.ssl.keyFile and what to give, never the passphrase', () => {
    const { keyFile, keyPassword } = kafka.encryptedClient;
    const wrong = `wrong-${keyPassword}`;
    const cases: [string, string[], RegExp][] = [
      ['no passphrase', [], /the key is encrypted: give its passphrase in kafka\.ssl\.keyPasswordFile/],
      ['a wrong passphrase', [`kafka.ssl.keyPasswordFile=${secretFile('wrong-key-password', wrong)}`], /the passphrase from kafka\.ssl\.keyPasswordFile .*wrong-key-password does not decrypt it/],
      ['the key of another certificate', [`kafka.ssl.keyPassword=${keyPassword}`, `kafka.ssl.certFile=${kafka.untrustedClient.certFile}`], /it is not the private key of kafka\.ssl\.certFile/],
    ];
    for (const backend of backends) {
      for (const [what, extra, mentions] of cases) {
        const config = loadConfig({ env: {}, sets: [...mtlsSets(backend, kafka.encryptedClient), ...extra] });
        assert.throws(
          () => createBus(config.kafka, capturingLogger().log),
          (error: unknown) => assertRefusal(error, 'KAFKA_TLS', new RegExp(`kafka\\.ssl\\.keyFile ${keyFile.replaceAll('.', '\\.')}[^]*${mentions.source}`), [wrong, keyPassword], kafka.mtlsBootstrap),
          `${backend}, ${what}`,
        );
      }
    }
  });

  test('rdkafka: a secured broker that is simply not there stays KAFKA_RETRIABLE (not mistaken for a refused login)', async () => {
    const port = await freePort();
    const config = loadConfig({ env: {}, sets: [...sets('rdkafka', kafka.sha512, kafka.caFile), `kafka.brokers=["127.0.0.1:${port}"]`, `kafka.sasl.password=${kafka.sha512.password}`, 'kafka.requestTimeoutMs=3000'] });
    const bus = createBus(config.kafka, capturingLogger().log);
    await assert.rejects(
      (async () => (await bus.producer()).close())(),
      (error: unknown) => error instanceof TallyError && error.code === 'KAFKA_RETRIABLE' && error.retriable && !error.message.includes(kafka.sha512.password),
    );
  });

  test('tally ship as a process ships a file into the secured broker (rdkafka, password from TALLY_KAFKA_PASSWORD); its log holds no password', async () => {
    const prefix = `${uniqueName('h-sec-ship')}.`;
    const input = path.join(dir, 'accounting.json');
    writeFileSync(input, [1, 2, 3].map((n) => JSON.stringify({ level: 'accounting', n })).join('\n') + '\n');
    const args = [
      '--log-level', 'debug',
      '--ops-port', '0',
      '--set', 'kafka.backend=rdkafka',
      '--set', `kafka.brokers=["${kafka.bootstrap}"]`,
      '--set', `kafka.topicPrefix=${prefix}`,
      '--set', 'kafka.ssl.enabled=true',
      '--set', `kafka.ssl.caFile=${kafka.caFile}`,
      '--set', 'kafka.sasl.mechanism=scram-sha-512',
      '--set', `kafka.sasl.username=${kafka.sha512.username}`,
      'ship', '--path', input, '--kind', 'accounting', '--registry', path.join(dir, 'registry.json'),
    ];
    const proc = spawn(path.join(projectRoot, 'bin/tally'), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_BROKERS: '', TALLY_KAFKA_PASSWORD: kafka.sha512.password } });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const config = loadConfig({ env: {}, sets: [...sets('kafkajs', kafka.sha512, kafka.caFile), `kafka.sasl.password=${kafka.sha512.password}`, `kafka.topicPrefix=${prefix}`] });
      const bus = createBus(config.kafka, capturingLogger().log);
      const admin = await bus.admin();
      try {
        await eventually(`three lines in ${prefix}raw.accounting`, 90_000, async () => {
          if (proc.exitCode !== null) throw new Error(`tally ship exited with ${proc.exitCode}: ${out.slice(-2000)}`);
          const offsets = await admin.groupOffsets('h-sec-nobody', `${prefix}raw.accounting`).catch(() => []);
          return offsets.reduce((sum, o) => sum + Number(o.end), 0) >= 3 ? true : undefined;
        });
      } catch (error) {
        throw new Error(`${(error as Error).message}; tally ship said: ${out.slice(-3000)}`, { cause: error });
      } finally {
        await admin.close();
      }
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
    assert.match(out, /tally ship:/);
    assert.ok(out.includes('"level":20') || out.includes('"level":30'), 'the debug log was captured');
    assert.ok(!out.includes(kafka.sha512.password), 'password in the stage output');
  });
});
