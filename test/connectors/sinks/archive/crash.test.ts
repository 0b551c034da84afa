import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import type { LevelName } from '../../../../connectors/sinks/archive/config.js';
import type { Admin, Bus, PartitionOffsets } from '../../../../pipeline/bus/types.js';
import { projectRoot } from '../../../../pipeline/paths.js';
import { esClient, eventually, uniqueName } from '../../../support/world.js';
import { expectedArchive } from './oracle.js';
import { archivedDocuments, isolatedTopics, kafkaRecord, logRecord, removeArchive, requestId, windowEvent, type LogRecord } from './support.js';

const secondMs = 1000;

const mainEntry = path.join(projectRoot, 'dist/app/cli/main.js');
/** once main.ts registers the command, the test runs `tally archive` itself */
const registered = spawnSync(process.execPath, [mainEntry, 'archive', '--help'], { encoding: 'utf8' }).stdout.includes('Usage: tally archive');

/** `tally archive` as its own process: through main.js when registered, else the command module as main.ts will run it. */
function archiveProcess(args: string[], env: Record<string, string>): { child: ChildProcessWithoutNullStreams; output: () => string; exit: Promise<number | null> } {
  const file = path.join(projectRoot, 'dist/app/cli/commands/archive.js');
  const code = `const m = await import(${JSON.stringify(file)}); try { await m.archiveCommand().parseAsync(process.argv.slice(1), { from: 'user' }); } catch (e) { process.stderr.write(String(e.code ?? '') + ': ' + e.message + '\\n'); process.exit(1); }`;
  const argv = registered ? [mainEntry, 'archive', ...args] : ['--input-type=module', '-e', code, '--', ...args];
  const child = spawn(process.execPath, argv, { env: { ...process.env, TALLY_LOG__LEVEL: 'warn', TALLY_LOG__PRETTY: 'false', ...env } });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { child, output: () => text, exit };
}

/** A busy stretch of a cloud: requests on four services, some forwarded across services, warnings and errors here and there. */
function cloudStream(t0: number): LogRecord[] {
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const services = ['nova', 'neutron', 'glance', 'cinder'];
  const lines: Parameters<typeof logRecord>[0][] = [];
  for (let r = 0; r < 420; r += 1) {
    const start = t0 + Math.floor(random() * 40 * 60) * secondMs;
    const service = services[r % services.length] as string;
    const forwardedTo = random() < 0.25 ? services[(r + 1) % services.length] : undefined;
    const global = forwardedTo ? requestId(100_000 + r) : undefined;
    const events = 2 + Math.floor(random() * 6);
    for (let e = 0; e < events; e += 1) {
      const level: LevelName = random() < 0.006 ? 'ERROR' : random() < 0.008 ? 'WARNING' : 'INFO';
      const onForward = forwardedTo !== undefined && e % 2 === 1;
      lines.push({ atMs: start + e * Math.floor(2 + random() * 12) * secondMs, level, service: onForward ? forwardedTo : service, request: requestId(onForward ? 200_000 + r : r), ...(global ? { globalRequest: global } : {}) });
    }
  }
  for (let i = 0; i < 150; i += 1) lines.push({ atMs: t0 + Math.floor(random() * 40 * 60) * secondMs, service: services[i % services.length] as string, message: 'periodic task' });
  // shipped about in time order, a few seconds out of order at most (well within the lateness)
  const shipped = lines.map((line) => ({ line, order: line.atMs + random() * 5 * secondMs })).sort((a, b) => a.order - b.order);
  return shipped.map((s) => logRecord(s.line));
}

async function offsetsOf(admin: Admin, groupId: string, bus: Bus): Promise<PartitionOffsets[]> {
  return admin.groupOffsets(groupId, bus.topic('ops.logs'));
}

describe('tally archive killed with SIGKILL', { timeout: 300_000 }, () => {
  const client = esClient();
  const children: ChildProcessWithoutNullStreams[] = [];
  const admins: Admin[] = [];
  const topics: string[] = [];
  const indexPrefix = `${uniqueName('tally-arch-crash')}-`;
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const admin of admins) {
      await admin.deleteTopics(topics).catch(() => undefined);
      await admin.close().catch(() => undefined);
    }
    await removeArchive(client, indexPrefix);
    await client.close();
  });

  test('killed mid-stream, restarted, killed again while contexts are half written, restarted: every archive entry is there once, with every trigger it was archived for', async () => {
    const { bus, admin, prefix } = await isolatedTopics(3);
    admins.push(admin);
    topics.push(bus.topic('ops.logs'), bus.topic('dlq.oslo-log'));
    const t0 = Date.UTC(2026, 2, 10, 10, 0, 0);
    const records = cloudStream(t0);
    const clocks = [0, 1, 2].map((p) => ({ partition: p, record: logRecord({ atMs: t0 + (3 * 3600 + p) * secondMs, service: 'keystone' }) }));
    const oracle = expectedArchive([...records, ...clocks.map((c) => c.record)].map(windowEvent), { windowMs: 60 * secondMs, requestWindowMs: 60 * secondMs, minLevelNumber: 30 });
    const triggers = records.filter((r) => r.line.level && r.line.level !== 'INFO').length;
    assert.ok(triggers >= 10 && oracle.size > 100 && oracle.size < records.length / 2, `a stream where some, not all, is archived: ${triggers} triggers, ${oracle.size} of ${records.length} events`);
    assert.ok([...oracle.values()].every((t) => t.size <= 32), 'no event has more triggers than are kept');
    const contexts = new Map<string, Set<string>>();
    for (const [eventId, byTrigger] of oracle) for (const triggerId of byTrigger.keys()) contexts.set(triggerId, (contexts.get(triggerId) ?? new Set()).add(eventId));

    const groupId = uniqueName('archive-crash');
    // quiet spells of the test must not let event time follow the wall clock
    const args = ['--group', groupId, '--idle-seconds', '120'];
    const env = { TALLY_KAFKA__TOPIC_PREFIX: prefix, TALLY_ELASTICSEARCH__INDEX_PREFIX: indexPrefix, TALLY_KAFKA__COMMIT_INTERVAL_MS: '200', TALLY_KAFKA__SESSION_TIMEOUT_MS: '6000', TALLY_TOPICS__PARTITIONS: '3' };
    const start = async () => {
      const run = archiveProcess(args, env);
      children.push(run.child);
      await eventually('tally archive running', 60_000, () => (/tally archive: /.test(run.output()) ? true : undefined));
      return run;
    };
    const producer = await bus.producer();
    const produce = async (from: number, to: number) => {
      for (let i = from; i < to; i += 60) {
        await producer.send(records.slice(i, Math.min(i + 60, to)).map((r) => kafkaRecord(bus, r)));
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    // the second kill comes when event time stands just past a trigger's evaluation, with its context half released
    const timeOf = new Map([...records, ...clocks.map((c) => c.record)].map((r) => [r.id, r.line.atMs]));
    const pivot = records.find((r, i) => {
      const members = [...(contexts.get(r.id) ?? [])].map((id) => (timeOf.get(id) as number) - r.line.atMs);
      return i > records.length * 0.3 && members.some((d) => d < -45 * secondMs) && members.some((d) => d > 20 * secondMs);
    });
    assert.ok(pivot, 'a trigger with context well before and after it');
    const half = records.findIndex((r) => r.line.atMs > pivot.line.atMs + (30 + 60 + 15) * secondMs);

    // 1: killed at a moment of a running stream: batches in hand, bulk requests in flight
    const first = await start();
    const producing = produce(0, half);
    const killedFirst = await eventually('a part archived and committed', 120_000, async () => {
      const docs = await archivedDocuments(client, indexPrefix);
      const offsets = await offsetsOf(admin, groupId, bus);
      return docs.length >= oracle.size * 0.15 && offsets.some((o) => Number(o.committed) > 0) ? docs.length : undefined;
    });
    first.child.kill('SIGKILL');
    await first.exit;
    await producing;

    // 2: killed when everything read is processed and committed as far as it may be, with windows open
    const second = await start();
    let last = '';
    let steady = 0;
    const quiet = await eventually('the restarted archive caught up with what was produced', 120_000, async () => {
      const docs = await archivedDocuments(client, indexPrefix);
      const offsets = await offsetsOf(admin, groupId, bus);
      const state = `${docs.length} ${offsets.map((o) => o.committed).join()}`;
      steady = state === last && offsets.every((o) => Number(o.committed) > 0) ? steady + 1 : 0;
      last = state;
      return steady >= 10 ? { docs, offsets } : undefined;
    });
    second.child.kill('SIGKILL');
    await second.exit;
    const written = new Set(quiet.docs.map((d) => d.id));
    const halfWritten = [...contexts.values()].filter((members) => [...members].some((id) => written.has(id)) && [...members].some((id) => !written.has(id))).length;
    assert.ok(halfWritten > 0, 'the second kill left contexts half written');

    // 3: the rest of the stream, and a run to the end
    await produce(half, records.length);
    await producer.send(clocks.map((c) => kafkaRecord(bus, c.record, c.partition)));
    await producer.close();
    const third = await start();
    // an archived event is committed only once its document is written: committed to the end, the archive is complete
    await eventually('everything but the clock lines committed', 120_000, async () => {
      const offsets = await offsetsOf(admin, groupId, bus);
      return offsets.every((o) => Number(o.committed) === Number(o.end) - 1 || (o.end === '1' && o.committed === '-1')) ? true : undefined;
    });
    third.child.kill('SIGTERM');
    assert.equal(await third.exit, 0, third.output());

    const final = await archivedDocuments(client, indexPrefix);
    const missing = [...oracle.keys()].filter((id) => !final.some((d) => d.id === id));
    assert.deepEqual(missing, [], `${missing.length} archive entries lost`);
    assert.equal(final.length, oracle.size, 'nothing doubled, nothing extra');
    for (const document of final) {
      const expected = oracle.get(document.id);
      assert.ok(expected, `${document.id} should not be archived`);
      const found = new Map(document.source.archive.triggers.map((t) => [t.id, t.reason]));
      assert.deepEqual(found, expected, `${document.id}: every trigger it was archived for, with its reason`);
    }
    const rewritten = final.filter((d) => d.version > 1).length;
    process.stdout.write(`# SIGKILL ${registered ? 'tally archive (main.js)' : 'archiveCommand()'}: ${records.length} events, ${triggers} triggers, ${oracle.size} archive entries; killed with ${killedFirst} written, then again with ${written.size} written and ${halfWritten} contexts half written (committed ${quiet.offsets.map((o) => `${o.committed}/${o.end}`).join(' ')}); at the end all ${final.length} there once with every trigger, ${rewritten} rewritten by a replay\n`);
  });
});
