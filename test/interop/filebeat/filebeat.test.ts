import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Admin, Bus, IncomingMessage } from '../../../pipeline/bus/types.js';
import { readEnvelope } from '../../../pipeline/envelope.js';
import { normaliserFor } from '../../../pipeline/normalise/index.js';
import { makeCertificates, opensslAvailable, type TestCertificates } from '../../support/certs.js';
import { eventually, freePort, testBus, testConfig } from '../../support/world.js';
import { readAll } from '../../support/topic-records.js';
import { extendConfig, pipelineWorld, startStage, type PipelineWorld, type StageProcess } from '../../e2e/pipeline.js';
import { accountingLines, filebeat717, filebeat9, installFilebeat, startFilebeat, type FilebeatRun, type FilebeatVersion } from './filebeat.js';

/**
 * The real Filebeat (7.17 with the `log` input, 9.3 with `filestream`) against Tally, as the
 * NEANIAS set-up runs it: output.logstash to `tally beats` (plain and with client certificates,
 * pipelining and compression), a SIGKILL of `tally beats` mid-run, output.kafka straight into
 * raw.accounting read by the transform's own code (and compared with `tally ship` on the same file),
 * and a rotation by rename while shipping. By default both versions: a fresh machine builds each
 * once (install.sh, minutes), the Go caches and .tally/cache make later runs start at once.
 */
const normaliser = normaliserFor('accounting');
const lineCount = 2000;

interface Shipped {
  /** n → the raw messages that carry it */
  byN: Map<number, IncomingMessage[]>;
  messages: IncomingMessage[];
}

function shippedOf(messages: IncomingMessage[], run: string): Shipped {
  const byN = new Map<number, IncomingMessage[]>();
  const mine: IncomingMessage[] = [];
  for (const m of messages) {
    const envelope = readEnvelope(m.value ?? Buffer.alloc(0));
    if (!envelope.message.includes(`"run":"${run}"`)) continue;
    const n = (JSON.parse(envelope.message) as { n: number }).n;
    mine.push(m);
    byN.set(n, [...(byN.get(n) ?? []), m]);
  }
  return { byN, messages: mine };
}

/** The accounting record the transform makes of a raw message (the same code `tally transform` runs). */
function recordOf(m: IncomingMessage): Record<string, unknown> {
  const outcome = normaliser.normalise(readEnvelope(m.value ?? Buffer.alloc(0)));
  assert.equal(outcome.rejections.length, 0, `rejected: ${JSON.stringify(outcome.rejections)} for ${String(m.value)}`);
  assert.equal(outcome.records.length, 1);
  return outcome.records[0]?.value as Record<string, unknown>;
}

function assertEachOnce(shipped: Shipped, from: number, to: number, what: string): void {
  const missing = [];
  for (let n = from; n < to; n += 1) if (!shipped.byN.has(n)) missing.push(n);
  assert.deepEqual(missing.slice(0, 20), [], `${what}: ${missing.length} lines missing`);
  const doubled = [...shipped.byN.entries()].filter(([, ms]) => ms.length > 1).map(([n]) => n);
  assert.deepEqual(doubled.slice(0, 20), [], `${what}: lines delivered more than once`);
  assert.equal(shipped.messages.length, to - from);
}

// TALLY_FILEBEAT_VERSIONS: the module versions to run, comma-separated (by default both, 7.17 and 9.3)
const chosen = process.env.TALLY_FILEBEAT_VERSIONS?.split(',').map((v) => v.trim()) ?? [filebeat717.module, filebeat9.module];
// a version not chosen is not a test here at all (only a missing Go toolchain or proxy skips, saying why)
for (const version of [filebeat717, filebeat9].filter((v) => chosen.includes(v.module))) {
  const installed = installFilebeat(version);
  if ('skip' in installed) process.stdout.write(`# SKIP Filebeat ${version.label} interop: ${installed.skip}\n`);
  describe(`Filebeat ${version.label} (${version.input} input) against Tally, real Kafka`, { timeout: 1_800_000, skip: 'skip' in installed ? installed.skip : false }, () => {
    const binary = 'binary' in installed ? installed.binary : '';
    let world: PipelineWorld;
    let bus: Bus;
    let admin: Admin;
    let raw: string;
    const temp = mkdtempSync(path.join(os.tmpdir(), 'tally-filebeat-'));
    const running: { stop(): Promise<unknown> }[] = [];

    before(async () => {
      world = await pipelineWorld('filebeat');
      bus = testBus('kafkajs', [`kafka.topicPrefix=${world.topicPrefix}`]);
      admin = await bus.admin();
      raw = bus.topic('raw.accounting');
      await admin.createTopics([{ topic: raw, partitions: 2 }, { topic: bus.topic('dlq.accounting'), partitions: 1 }]);
    });
    after(async () => {
      for (const r of running.reverse()) await r.stop().catch(() => undefined);
      await admin?.close();
      rmSync(temp, { recursive: true, force: true });
    });

    const beats = async (port: number, tls?: Record<string, unknown>): Promise<StageProcess> => {
      await extendConfig(world, { beats: { host: '127.0.0.1', port, kind: 'accounting', ...(tls ? { tls } : {}) } });
      const stage = await startStage(world, ['beats'], /tally beats listening/);
      running.push({ stop: () => stage.kill('SIGTERM') });
      return stage;
    };
    const filebeat = async (name: string, file: string, output: Record<string, unknown>): Promise<FilebeatRun> => {
      const run = await startFilebeat(binary, version, path.join(temp, name), { paths: [`${file}*`] }, output);
      running.push(run);
      return run;
    };
    const logstash = (port: number, tls: Record<string, unknown> = {}) => ({ 'output.logstash': { hosts: [`127.0.0.1:${port}`], pipelining: 2, compression_level: 3, bulk_max_size: 200, timeout: '30s', ...tls } });
    const mine = async (run: string, atLeast: number) => {
      await eventually(`${atLeast} lines of ${run} in ${raw}`, 180_000, async () => {
        const got = shippedOf(await readAll(bus, admin, raw, 0, { settleMs: 200 }), run);
        return got.byN.size >= atLeast ? true : undefined;
      });
      return shippedOf(await readAll(bus, admin, raw, 0, { settleMs: 1000 }), run);
    };

    test('output.logstash to tally beats, pipelining 2, compression 3: every accounting line once, through a rotation by rename while shipping', async () => {
      const port = await freePort();
      const stage = await beats(port);
      const run = `plain-${version.input}`;
      const file = path.join(temp, `${run}.json`);
      writeFileSync(file, accountingLines(run, 0, lineCount / 2));
      const fb = await filebeat(run, file, logstash(port));
      await mine(run, 100);
      // logrotate's way: the file is renamed, a new one takes its name; both match the input's glob
      renameSync(file, `${file}.1`);
      appendFileSync(`${file}.1`, accountingLines(run, lineCount / 2, (lineCount * 3) / 4));
      writeFileSync(file, accountingLines(run, (lineCount * 3) / 4, lineCount));
      const shipped = await mine(run, lineCount);
      assertEachOnce(shipped, 0, lineCount, 'plain');
      for (const m of shipped.messages) assert.match(String(m.value), /"source":\{"address":"127\.0\.0\.1:\d+"\}/);
      await fb.waitForAcked(lineCount, 60_000);
      assert.equal((await fb.counters())?.failed, 0);
      await fb.stop();
      assert.match(stage.output(), /listening/);
    });

    test('mutual TLS as NEANIAS configures it: served with a certificate from the CA; another CA\'s certificate and none are refused', { skip: opensslAvailable() ? false : 'the openssl CLI is not installed' }, async () => {
      const certs: TestCertificates = makeCertificates();
      try {
        const port = await freePort();
        const stage = await beats(port, { certFile: certs.serverCert, keyFile: certs.serverKey, caFiles: [certs.ca], clientCertificates: 'required' });
        const ssl = (cert?: string, key?: string) => ({ 'ssl.certificate_authorities': [certs.ca], ...(cert ? { 'ssl.certificate': cert, 'ssl.key': key } : {}) });
        const run = `mtls-${version.input}`;
        const file = path.join(temp, `${run}.json`);
        writeFileSync(file, accountingLines(run, 0, lineCount));
        const served = await filebeat(run, file, logstash(port, ssl(certs.clientCert, certs.clientKey)));
        assertEachOnce(await mine(run, lineCount), 0, lineCount, 'mutual TLS');
        await served.waitForAcked(lineCount, 60_000);
        await served.stop();

        for (const [name, tls] of [['other-ca', ssl(certs.otherClientCert, certs.otherClientKey)], ['no-cert', ssl()]] as const) {
          const refusedRun = `${name}-${version.input}`;
          const refusedFile = path.join(temp, `${refusedRun}.json`);
          writeFileSync(refusedFile, accountingLines(refusedRun, 0, 50));
          const before = (stage.output().match(/refusing beats client/g) ?? []).length;
          const refused = await filebeat(refusedRun, refusedFile, logstash(port, tls));
          await eventually(`tally beats to refuse the ${name} client`, 60_000, () => ((stage.output().match(/refusing beats client/g) ?? []).length > before ? true : undefined));
          await new Promise((resolve) => setTimeout(resolve, 3000));
          assert.equal((await refused.counters())?.acked ?? 0, 0, `${name}: nothing acknowledged`);
          await refused.stop();
          assert.equal(shippedOf(await readAll(bus, admin, raw, 0, { settleMs: 300 }), refusedRun).messages.length, 0, `${name}: nothing in Kafka`);
        }
        // every refusal names the address the client came from, also once its socket is gone
        const refusals = stage.output().split('\n').filter((l) => l.includes('refusing beats client'));
        assert.ok(refusals.length >= 2);
        for (const line of refusals) assert.match(line, /"client":"127\.0\.0\.1:\d+"/, line);
      } finally {
        certs.remove();
      }
    });

    test('SIGKILL of tally beats mid-run: every line ends in Kafka, a repeat only with the same record id', async () => {
      const port = await freePort();
      const first = await beats(port);
      const run = `sigkill-${version.input}`;
      const file = path.join(temp, `${run}.json`);
      const total = lineCount * 3;
      writeFileSync(file, accountingLines(run, 0, total));
      await filebeat(run, file, logstash(port));
      await mine(run, 300);
      assert.equal(await first.kill('SIGKILL'), null);
      await beats(port);
      const shipped = await mine(run, total);
      for (let n = 0; n < total; n += 1) assert.ok(shipped.byN.has(n), `line ${n} arrived`);
      let repeats = 0;
      for (const [n, messages] of shipped.byN) {
        const ids = new Set(messages.map((m) => recordOf(m).id));
        assert.equal(ids.size, 1, `line ${n}: every copy has the same record id`);
        repeats += messages.length - 1;
      }
      process.stdout.write(`# Filebeat ${version.label}: ${total} lines after a SIGKILL, ${repeats} delivered twice (same record id)\n`);
    });

    test('output.kafka straight into raw.accounting: the transform reads Filebeat\'s own events, the same records and ids as through tally beats; tally ship on the same file makes the same records', async () => {
      const run = `kafka-${version.input}`;
      const file = path.join(temp, `${run}.json`);
      writeFileSync(file, accountingLines(run, 0, lineCount / 2));
      // one file, two Filebeats (each with its own registry): output.kafka, then output.logstash → tally beats
      const kafkaPrefix = `${world.topicPrefix}fbkafka.`;
      const kafkaBus = testBus('kafkajs', [`kafka.topicPrefix=${kafkaPrefix}`]);
      const kafkaRaw = kafkaBus.topic('raw.accounting');
      await admin.createTopics([{ topic: kafkaRaw, partitions: 2 }]);
      const brokers = testConfig().kafka.brokers;
      const direct = await filebeat(`${run}-direct`, file, { 'output.kafka': { hosts: brokers, topic: kafkaRaw, required_acks: -1, compression: 'none' } });
      await direct.waitForAcked(lineCount / 2, 180_000);
      await direct.stop();
      const port = await freePort();
      await beats(port);
      await filebeat(`${run}-beats`, file, logstash(port));
      const viaBeats = await mine(run, lineCount / 2);
      const viaKafka = shippedOf(await readAll(kafkaBus, admin, kafkaRaw, lineCount / 2, { settleMs: 1000 }), run);
      assertEachOnce(viaKafka, 0, lineCount / 2, 'output.kafka');
      assertEachOnce(viaBeats, 0, lineCount / 2, 'output.logstash');
      for (let n = 0; n < lineCount / 2; n += 1) {
        const { source: fromKafka, ...a } = recordOf(viaKafka.byN.get(n)?.[0] as IncomingMessage) as { source: { client: string | null } };
        const { source: fromBeats, ...b } = recordOf(viaBeats.byN.get(n)?.[0] as IncomingMessage) as { source: { client: string | null } };
        assert.deepEqual(a, b, `line ${n}: the same record by both outputs (id ${String((a as { id?: string }).id)} from the file offset)`);
        // the source coordinates too, but for the client address only tally beats can know
        assert.equal(fromKafka.client, null);
        assert.match(String(fromBeats.client), /^127\.0\.0\.1:\d+$/);
        assert.deepEqual({ ...fromKafka, client: null }, { ...fromBeats, client: null });
      }

      // tally ship on the same file, in a world of its own: the same records; the same ids too where
      // Filebeat sends the file's device and inode as ship does (filestream), not the path alone (log)
      const shipWorld = await pipelineWorld('filebeat-ship', { ship: { inputs: [{ paths: [file], kind: 'accounting', registryPath: path.join(temp, `${run}-ship-registry.json`) }] } });
      const shipBus = testBus('kafkajs', [`kafka.topicPrefix=${shipWorld.topicPrefix}`]);
      const shipRaw = shipBus.topic('raw.accounting');
      await admin.createTopics([{ topic: shipRaw, partitions: 2 }]);
      const ship = await startStage(shipWorld, ['ship'], /tally ship:/);
      running.push({ stop: () => ship.kill('SIGTERM') });
      const viaShip = shippedOf(await readAll(shipBus, admin, shipRaw, lineCount / 2, { settleMs: 1000 }), run);
      assertEachOnce(viaShip, 0, lineCount / 2, 'tally ship');
      const sameIds = version.input === 'filestream';
      for (let n = 0; n < lineCount / 2; n += 1) {
        const { id: shipId, source: shipSource, ...fromShip } = recordOf(viaShip.byN.get(n)?.[0] as IncomingMessage) as { id: string; source: { input: string } };
        const { id: filebeatId, source: filebeatSource, ...fromFilebeat } = recordOf(viaKafka.byN.get(n)?.[0] as IncomingMessage) as { id: string; source: { input: string } };
        assert.deepEqual(fromShip, fromFilebeat, `line ${n}: the same record by tally ship and Filebeat`);
        assert.deepEqual({ ...shipSource, input: version.input }, filebeatSource, `line ${n}: the same host, path, offset and tags`);
        if (sameIds) assert.equal(shipId, filebeatId, `line ${n}: the same id by tally ship and Filebeat's filestream`);
        else assert.notEqual(shipId, filebeatId, `line ${n}: Filebeat's log input sends the path only, so its id differs from ship's (README)`);
      }

      const sample = readEnvelope(viaKafka.messages[0]?.value ?? Buffer.alloc(0));
      assert.equal(sample.input?.type, version.input, 'Filebeat\'s own event, not re-wrapped');
      assert.equal(typeof sample.log?.offset, 'number');
    });
  });
}
