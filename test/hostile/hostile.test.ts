import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Bus, Consumer, Producer } from '../../pipeline/bus/types.js';
import { decodeOriginal, type DeadLetter } from '../../pipeline/dlq.js';
import { testBus, testConfig, uniqueName, freePort, eventually } from '../support/world.js';
import { encodeWindow } from '../../connectors/sources/beats/encode.js';
import { buildCases, event, filebeatEnvelope, kinds, validFor, type HostileCase } from './cases.js';
import { ackedSeq, addQueueElement, appendLines, httpRequest, parseRawHttp, tcpExchange } from './clients.js';
import { heapLimitMb, peakRssBoundMb, startStage, type StageProcess } from './stages.js';

const allCases = buildCases();
/** HOSTILE_VIA=beats,http runs only those protocols' cases (while working on one); the table test always sees all */
const only = process.env.HOSTILE_VIA?.split(',');
const cases = only ? allCases.filter((c) => only.includes(c.via)) : allCases;
const domainTopics = ['accounting.usage', 'cloud.vm', 'cloud.ip', 'cloud.accelerator', 'cloud.storage', 'cloud.energy', 'audit.events', 'ops.logs'];

/** What the suite saw for one case besides Kafka: a connection's outcome or an HTTP answer. */
interface Observed {
  localPort?: number;
  closedByServer?: boolean;
  acked?: number;
  http?: { status: number; body: string };
}

test('the hostile table holds at least 200 cases, over every kind and every protocol', () => {
  const cases = allCases;
  assert.ok(cases.length >= 200, `only ${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.id)).size, cases.length, 'case ids are unique');
  for (const kind of kinds) assert.ok(cases.some((c) => c.kind === kind), kind);
  for (const via of ['kafka', 'ship', 'beats', 'http', 'apel-queue']) assert.ok(cases.filter((c) => c.via === via).length >= 10, via);
  for (const c of cases) assert.ok(c.title.length > 0 && c.expect, c.id);
});

describe('hostile inputs against the real stages under --max-old-space-size=256 (real Kafka)', { timeout: 600_000 }, () => {
  let dir: string;
  let bus: Bus;
  let producer: Producer;
  let collector: Consumer;
  const stages: Record<string, StageProcess> = {};
  const seen: { topic: string; value: Buffer }[] = [];
  const observed = new Map<string, Observed>();
  const peaks: Record<string, number> = {};
  const alive: Record<string, boolean> = {};
  let afterwards: string | undefined = 'not run';
  let ports: { beats: number; http: number };
  let queueDir: string;
  let elementSequence = 1;
  const logical = (topic: string): string => topic.slice(bus.topic('').length);

  const dlqOf = (kind: string, marker: string): DeadLetter[] =>
    seen
      .filter((m) => logical(m.topic) === `dlq.${kind}`)
      .map((m) => JSON.parse(m.value.toString('utf8')) as DeadLetter)
      .filter((letter) => decodeOriginal(letter.original).includes(marker) || (JSON.stringify(letter.source) ?? "").includes(marker));
  const recordsOf = (topic: string, marker: string): Buffer[] => seen.filter((m) => logical(m.topic) === topic && m.value.includes(marker)).map((m) => m.value);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hostile-'));
    queueDir = path.join(dir, 'queue');
    const topicPrefix = `${uniqueName('hostile')}.`;
    ports = { beats: await freePort(), http: await freePort() };
    const base = testConfig();
    const config = {
      kafka: { brokers: base.kafka.brokers, topicPrefix, commitIntervalMs: 200 },
      log: { level: 'info', pretty: false },
      shutdown: { drainTimeoutMs: 10_000 },
      topics: { partitions: 1 },
      transform: { groupId: uniqueName('hostile-transform'), kinds: [...kinds] },
      ship: { inputs: kinds.map((kind) => ({ paths: [path.join(dir, `${kind}.log`)], kind, include: [''], registryPath: path.join(dir, `registry-${kind}.json`), pollIntervalMs: 50, scanIntervalMs: 200 })) },
      beats: { host: '127.0.0.1', port: ports.beats, kind: 'accounting', maxRecordBytes: 250_000, windowTimeoutMs: 2000, idleTimeoutMs: 3000 },
      http: { host: '127.0.0.1', port: ports.http, maxBodyBytes: 1_048_576, headersTimeoutMs: 1500, requestTimeoutMs: 3000 },
      apelQueue: { path: queueDir, pollIntervalMs: 100 },
    };
    const configFile = path.join(dir, 'tally.yaml');
    await writeFile(configFile, stringify(config));
    for (const kind of kinds) await writeFile(path.join(dir, `${kind}.log`), '');

    stages.transform = await startStage('transform', configFile, ['transform'], /tally transform running/);
    bus = testBus('kafkajs', [`kafka.topicPrefix=${topicPrefix}`]);
    producer = await bus.producer();
    collector = await bus.consumer({ groupId: uniqueName('hostile-collector'), topics: [...kinds.map((k) => bus.topic(`dlq.${k}`)), ...domainTopics.map((t) => bus.topic(t))], fromBeginning: true });
    await collector.run((messages) => {
      for (const m of messages) if (m.value) seen.push({ topic: m.topic, value: m.value });
    });
    const [ship, beats, httpStage, apelQueue] = await Promise.all([
      startStage('ship', configFile, ['ship'], /tally ship: .*oslo-log/),
      startStage('beats', configFile, ['beats'], /tally beats listening/),
      startStage('http', configFile, ['http'], /tally http listening/),
      startStage('apel-queue', configFile, ['apel-queue'], /tally apel-queue reading/),
    ]);
    Object.assign(stages, { ship, beats, http: httpStage, 'apel-queue': apelQueue });

    // the hostile batch, every protocol at once
    const run = async (c: HostileCase): Promise<void> => {
      const input = c.input;
      if ('kafka' in input) {
        await producer.send([{ topic: bus.topic(`raw.${c.kind}`), key: null, value: input.kafka }]);
      } else if ('file' in input) {
        await appendLines(path.join(dir, `${c.kind}.log`), input.file);
      } else if ('beats' in input) {
        const wantAck = !('closed' in c.expect);
        const outcome = await tcpExchange(ports.beats, input.beats, { ...(input.dribbleMs ? { dribbleMs: input.dribbleMs } : {}), ...(wantAck ? { untilReceived: 6 } : {}), timeoutMs: 60_000 });
        const acked = ackedSeq(outcome.received);
        observed.set(c.id, { localPort: outcome.localPort, closedByServer: outcome.closedByServer, ...(acked !== undefined ? { acked } : {}) });
      } else if ('http' in input) {
        const request = input.http;
        if (request.raw) {
          const outcome = await tcpExchange(ports.http, request.raw, { ...(request.dribbleMs ? { dribbleMs: request.dribbleMs } : {}), timeoutMs: 30_000 });
          observed.set(c.id, { localPort: outcome.localPort, closedByServer: outcome.closedByServer, http: parseRawHttp(outcome.received) });
        } else {
          observed.set(c.id, { http: await httpRequest(ports.http, { path: request.path ?? `/ingest/${c.kind}`, ...(request.method ? { method: request.method } : {}), ...(request.headers ? { headers: request.headers } : {}), ...(request.body ? { body: request.body } : {}) }) });
        }
      } else {
        await addQueueElement(queueDir, elementSequence++, input.element);
      }
    };
    const byVia = (via: HostileCase['via']) => cases.filter((c) => c.via === via);
    const sequential = async (list: HostileCase[]) => {
      for (const c of list) await run(c);
    };
    await Promise.all([sequential(byVia('kafka')), sequential(byVia('ship')), Promise.all(byVia('beats').map(run)), Promise.all(byVia('http').map(run)), sequential(byVia('apel-queue'))]);

    // wait until every case that leaves something in Kafka has it
    await eventually('every case to reach its outcome', 90_000, () => (cases.every((c) => outcomeProblem(c) === undefined) ? true : undefined)).catch(() => undefined);

    // the stages still run: one valid input through every protocol goes all the way
    const after = (via: string) => `hx-after-${via}`;
    await producer.send([{ topic: bus.topic('raw.accounting'), key: null, value: filebeatEnvelope(validFor.accounting(after('kafka')), after('kafka')) }]);
    await appendLines(path.join(dir, 'accounting.log'), Buffer.from(`${validFor.accounting(after('ship'))}\n`));
    await tcpExchange(ports.beats, encodeWindow([event(validFor.accounting(after('beats')), after('beats'))]), { untilReceived: 6, timeoutMs: 30_000 });
    const posted = await httpRequest(ports.http, { path: '/ingest/accounting', body: Buffer.from(validFor.accounting(after('http'))) });
    assert.equal(posted.status, 200, posted.body);
    await addQueueElement(queueDir, elementSequence++, Buffer.from(validFor['apel-message'](after('apel-queue'))));
    const missing = (): string[] => [...['kafka', 'ship', 'beats', 'http'].filter((via) => recordsOf('accounting.usage', after(via)).length === 0), ...(recordsOf('cloud.vm', after('apel-queue')).length ? [] : ['apel-queue'])];
    afterwards = await eventually('a valid input through every protocol after the hostile batch', 90_000, () => (missing().length === 0 ? true : undefined)).then(
      () => undefined,
      () => `no record after the hostile batch through: ${missing().join(', ')}`,
    );
    for (const [name, stage] of Object.entries(stages)) {
      alive[name] = stage.alive();
      peaks[name] = stage.alive() ? stage.peakRssMb() : Number.NaN;
    }
    process.stdout.write(`hostile: ${cases.length} cases; peak RSS (MB) under --max-old-space-size=${heapLimitMb}: ${JSON.stringify(Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v)])))}\n`);
  });

  after(async () => {
    if (process.env.HOSTILE_KEEP_LOGS) for (const [name, stage] of Object.entries(stages)) await writeFile(path.join(tmpdir(), `hostile-${name}.log`), stage.output());
    await Promise.all(Object.values(stages).map((s) => s.stop()));
    await collector?.close();
    await producer?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Why a case has not (yet) reached its expected outcome, or undefined when it has. */
  function outcomeProblem(c: HostileCase): string | undefined {
    const e = c.expect;
    const seenBy = observed.get(c.id);
    if ('closed' in e) {
      if (!seenBy) return 'not run';
      if (!seenBy.closedByServer) return 'the server did not close the connection';
      const log = stages.beats?.output() ?? '';
      const line = log.split('\n').find((l) => l.includes(`127.0.0.1:${seenBy.localPort}`) && l.includes('closing beats connection'));
      if (!line) return `no "closing beats connection" log line for port ${seenBy.localPort}`;
      if (!e.closed.test(line)) return `the logged reason does not match ${e.closed}: ${line.slice(0, 300)}`;
      if (seenBy.acked !== undefined) return `the window was acknowledged (${seenBy.acked})`;
      return undefined;
    }
    if ('http' in e) {
      if (!seenBy?.http) return 'not run';
      if (seenBy.http.status !== e.http.status) return `status ${seenBy.http.status}, expected ${e.http.status}: ${seenBy.http.body.slice(0, 200)}`;
      if (e.http.reason && !e.http.reason.test(seenBy.http.body)) return `the answer does not say ${e.http.reason}: ${seenBy.http.body.slice(0, 200)}`;
      const leaked = kinds.flatMap((k) => dlqOf(k, c.marker)).length + domainTopics.flatMap((t) => recordsOf(t, c.marker)).length;
      return leaked ? `${leaked} output(s) in Kafka for a refused request` : undefined;
    }
    if (c.via === 'beats' && seenBy?.acked === undefined) return 'the window was not acknowledged';
    if ('dlq' in e) {
      const letters = dlqOf(c.kind, c.marker);
      if (letters.length === 0) return `no dead letter in dlq.${c.kind}`;
      const letter = letters[0] as DeadLetter;
      const reason = letter.reasons[0];
      if (letter.stage !== e.dlq.stage) return `stage ${letter.stage}, expected ${e.dlq.stage}`;
      if (reason?.code !== e.dlq.code) return `code ${reason?.code}, expected ${e.dlq.code}: ${reason?.message.slice(0, 200)}`;
      if (e.dlq.rule && reason.rule !== e.dlq.rule) return `rule ${reason.rule}, expected ${e.dlq.rule}: ${reason.message.slice(0, 200)}`;
      if ('kafka' in c.input && !decodeOriginal(letter.original).equals(c.input.kafka)) return 'the dead letter does not hold the original bytes';
      for (const topic of domainTopics) if (recordsOf(topic, c.marker).length) return `a record on ${topic} too`;
      return undefined;
    }
    const wanted = e.records.count ?? 1;
    const got = recordsOf(e.records.topic, c.marker).length;
    if (got < wanted) return `${got} of ${wanted} record(s) on ${e.records.topic}`;
    const letters = dlqOf(c.kind, c.marker);
    if (e.records.alsoDlq) return letters.some((l) => l.reasons[0]?.code === e.records.alsoDlq) ? undefined : `no ${e.records.alsoDlq} dead letter beside the records`;
    return letters.length ? `a dead letter too: ${letters[0]?.reasons[0]?.code} ${letters[0]?.reasons[0]?.message.slice(0, 200)}` : undefined;
  }

  for (const c of cases) {
    const e = c.expect;
    const what = 'dlq' in e ? `dead letter ${e.dlq.code} from ${e.dlq.stage}` : 'records' in e ? `${e.records.count ?? 1} record(s) on ${e.records.topic}` : 'closed' in e ? 'connection closed, reason logged' : `HTTP ${e.http.status}`;
    test(`${c.id}: ${c.title} → ${what}`, () => {
      const problem = outcomeProblem(c);
      assert.equal(problem, undefined, problem);
    });
  }

  test('after the hostile batch a valid input through every protocol still goes all the way', () => {
    assert.equal(afterwards, undefined, afterwards);
  });

  test('every stage is still running, within its memory bound', () => {
    for (const [name, up] of Object.entries(alive)) assert.equal(up, true, `${name} died: ${stages[name]?.output().slice(-2000)}`);
    for (const [name, peak] of Object.entries(peaks)) assert.ok(peak < peakRssBoundMb, `${name} peaked at ${Math.round(peak)} MB of RSS, over ${peakRssBoundMb} MB`);
    assert.equal(Object.keys(peaks).length, 5);
  });
});

