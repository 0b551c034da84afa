import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { buildEnvelope, type RawEnvelope } from '../../../../pipeline/envelope.js';
import { osloLogNormaliser } from '../../../../pipeline/normalise/oslo-log.js';
import { TracebackJoiner, streamKeyOf, type JoinedEvent, type KafkaPosition } from '../../../../pipeline/normalise/oslo/join.js';
import { projectRoot } from '../../../../pipeline/paths.js';

const topic = 'raw.oslo-log';
const host = 'compute-01.example.org';
const file = '/var/log/nova/nova-compute.log';
const stream = `${host}:${file}`;

function line(message: string, offset: number, extra: { path?: string; inode?: string } = {}): RawEnvelope {
  const envelope = buildEnvelope({ message, inputType: 'filestream', path: extra.path ?? file, offset, tags: ['oslo'] });
  (envelope.log?.file as Record<string, unknown>).inode = extra.inode ?? '5001';
  (envelope.log?.file as Record<string, unknown>).device_id = '64768';
  envelope.host = { name: host };
  return envelope;
}

const at = (offset: number, partition = 0): KafkaPosition => ({ topic, partition, offset: String(offset) });
const messages = (events: JoinedEvent[]) => events.map((e) => e.envelope.message);

// the 30-line traceback of the fixture: header, 30 traceback lines, and oslo's closing prefix-only line
const fixture = readFileSync(path.join(projectRoot, 'test/fixtures/oslo-log/nova-compute.log'), 'utf8').split('\n');
const headerIndex = fixture.findIndex((l) => l.includes('Instance failed to spawn: libvirt.libvirtError'));
const spawnFailure = fixture.slice(headerIndex, headerIndex + 32);
const afterSpawnFailure = fixture[headerIndex + 32] as string;

test('a record and its exception-prefix lines become one event when the next record starts', () => {
  const joiner = new TracebackJoiner();
  // LP#1883089, from canonical/hotsos hotsos/defs/tests/scenarios/openstack/neutron/bugs/lp1883089.yaml
  const lines = [
    "2023-06-11 15:39:28.391 1285214 ERROR oslo_messaging.rpc.server [None req-d6a41187-2495-46bf-a424-ab7195c0ecb1 - - - - -] Exception during message handling: AttributeError: 'NoneType' object has no attribute 'get'",
    '2023-06-11 15:39:28.391 1285214 ERROR oslo_messaging.rpc.server Traceback (most recent call last):',
    '2023-06-11 15:39:28.391 1285214 ERROR oslo_messaging.rpc.server   File "/usr/lib/python2.7/site-packages/oslo_messaging/rpc/server.py", line 170, in _process_incoming',
    '2023-06-11 15:39:28.391 1285214 ERROR oslo_messaging.rpc.server     res = self.dispatcher.dispatch(message)',
  ];
  const next = '2023-06-11 15:39:29.002 1285214 INFO neutron.db.l3_dvr_db [None req-0e5c3b9a-1f2d-4e6c-8b7a-9d0c1e2f3a4b - - - - -] next record';
  const out: JoinedEvent[] = [];
  lines.forEach((l, i) => out.push(...joiner.push(stream, line(l, i * 300), at(i), 1000)));
  assert.deepEqual(out, [], 'held until a line starts a new record');
  assert.equal(joiner.lowestHeldOffset(topic, 0), 0);
  const [event, ...rest] = joiner.push(stream, line(next, 2000), at(4), 1001);
  assert.deepEqual(rest, []);
  assert.equal(event?.envelope.message, lines.join('\n'));
  assert.deepEqual((event?.envelope.log as { flags?: string[] }).flags, ['multiline']);
  assert.equal(event?.envelope.log?.offset, 0, 'the first line keeps its coordinates: they make the record id');
  assert.deepEqual([event?.firstOffset, event?.lastOffset, event?.lines], [0, 3, 4]);
  assert.equal(joiner.lowestHeldOffset(topic, 0), 4, 'now only the next record is held');
  assert.deepEqual(messages(joiner.flushAll()), [next]);
  assert.equal(joiner.lowestHeldOffset(topic, 0), undefined);
});

test('a 30-line traceback becomes one event whose stack trace has all 30 lines, also across a file rotation', () => {
  assert.equal(spawnFailure.length, 32);
  for (const rotateAfter of [0, 12, 31]) {
    const joiner = new TracebackJoiner();
    const out: JoinedEvent[] = [];
    let offset = 81_920;
    spawnFailure.forEach((text, i) => {
      // logrotate renames nova-compute.log to .1 while the traceback is written; the rest goes to the new file
      const rotated = i > rotateAfter;
      const envelope = line(text, rotated ? offset - 81_920 : offset, rotated ? { inode: '5002' } : { path: `${file}.1` });
      out.push(...joiner.push(stream, envelope, at(100 + i), 5000 + i));
      offset += Buffer.byteLength(text) + 1;
    });
    out.push(...joiner.push(stream, line(afterSpawnFailure, 7), at(200), 6000));
    assert.equal(out.length, 1, `rotation after line ${rotateAfter}`);
    const event = out[0] as JoinedEvent;
    assert.equal(event.lines, 32);
    assert.equal(event.envelope.log?.file?.path, `${file}.1`);
    const { records, rejections } = osloLogNormaliser.normalise(event.envelope);
    assert.deepEqual(rejections, []);
    const value = records[0]?.value as { error_stack_trace: string; error_type: string; cloud_instance_id: string; log: { flags: string[] } };
    const stack = value.error_stack_trace.split('\n');
    assert.equal(stack.length, 30);
    assert.equal(stack[0], 'Traceback (most recent call last):');
    assert.equal(stack[1], '  File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line 2743, in _build_resources');
    assert.equal(stack[2], '    yield resources');
    assert.match(stack[29] as string, /^libvirt\.libvirtError: internal error: qemu unexpectedly closed the monitor/);
    assert.equal(value.error_type, 'libvirt.libvirtError');
    assert.equal(value.cloud_instance_id, '0a6f5c2e-4b1d-4e8f-9a3c-7d2e1f0b9c8a');
    assert.deepEqual(value.log.flags, ['multiline']);
  }
});

test('the record id is the first line\'s, however many lines were joined', () => {
  const joiner = new TracebackJoiner();
  const header = spawnFailure[0] as string;
  const alone = osloLogNormaliser.normalise(line(header, 4096)).records[0]?.id;
  spawnFailure.forEach((text, i) => joiner.push(stream, line(text, 4096 + i * 200), at(i)));
  const [event] = joiner.flushAll();
  assert.equal(osloLogNormaliser.normalise(event!.envelope).records[0]?.id, alone);
});

test('JSON-formatter lines are complete: emitted at once, after the event they end', () => {
  const joiner = new TracebackJoiner();
  const text = '2026-11-22 11:08:52.372 28577 INFO nova.compute.manager [-] Starting compute node (version 27.1.0)';
  const json = '{"message": "Starting compute node", "name": "nova.compute.manager", "levelname": "INFO", "created": 1795345732.37}';
  assert.deepEqual(joiner.push(stream, line(text, 0), at(0)), []);
  assert.deepEqual(messages(joiner.push(stream, line(json, 200), at(1))), [text, json]);
  assert.equal(joiner.stats().streams, 0);
  assert.deepEqual(messages(joiner.push(stream, line(json, 400), at(2))), [json]);
});

test('unprefixed continuation lines (a foreign traceback, an embedded newline) join too; a timestamp-led line starts anew', () => {
  const joiner = new TracebackJoiner();
  // LP#1934937, from canonical/hotsos hotsos/defs/tests/scenarios/openstack/oslo_messaging/lp1934937.yaml
  const lines = [
    '2023-06-18 08:42:58.702 1402787 ERROR oslo.messaging._drivers.impl_rabbit [-] Connection failed: [Errno 101] ENETUNREACH (retrying in 0 seconds): OSError: [Errno 101] ENETUNREACH',
    'Traceback (most recent call last):',
    '  File "/usr/lib/python3/dist-packages/eventlet/hubs/hub.py", line 476, in fire_timers',
    '    timer()',
    'greenlet.error: cannot switch to a different thread',
  ];
  lines.forEach((l, i) => joiner.push(stream, line(l, i * 100), at(i)));
  const devstack = '2014-12-10 11:56:20.938 | + neutron router-gateway-set';
  assert.deepEqual(messages(joiner.push(stream, line(devstack, 900), at(5))), [lines.join('\n')]);
});

test('container-wrapped lines keep their wrapper apart: Sunbeam\'s neutron-server', () => {
  // canonical/hotsos tests/unit/fake_data_root/sunbeam/…/podlogs/neutron-0/…-c_neutron-server, as quoted in shared/reference/openstack-audit-kibana.md §1.6
  const lines = readFileSync(path.join(projectRoot, 'test/fixtures/oslo-log/neutron-server.log'), 'utf8').split('\n').filter((l) => l.startsWith('2025-05-14T07:09:45.785Z'));
  assert.equal(lines.length, 6);
  const joiner = new TracebackJoiner();
  lines.forEach((l, i) => joiner.push(stream, line(l, i * 300), at(i)));
  const [event] = joiner.flushAll();
  assert.equal(event?.lines, 6);
  const value = osloLogNormaliser.normalise(event!.envelope).records[0]?.value as { message: string; error_stack_trace: string };
  assert.match(value.message, /\n\(Background on this error at: https:\/\/sqlalche\.me\/e\/14\/e3q8\)$/);
  assert.deepEqual(value.error_stack_trace.split('\n'), [
    'Traceback (most recent call last):',
    '  File "/usr/lib/python3/dist-packages/pymysql/connections.py", line 613, in connect',
    '    sock = socket.create_connection(',
    '           ^^^^^^^^^^^^^^^^^^^^^^^^^',
  ]);
});

test('journald lines: the exception prefix behind the syslog header is recognised', () => {
  const joiner = new TracebackJoiner();
  const lines = [
    'Apr 04 20:48:22 train devstack@n-api.service[10884]: ERROR nova.api.openstack.wsgi [None req-1cf4bf5c-2f74-4be0-a18d-51ff81df57dd admin admin] Unexpected exception in API method: nova.exception.CellTimeout: Timeout waiting for response from cell',
    'Apr 04 20:48:22 train devstack@n-api.service[10884]: ERROR nova.api.openstack.wsgi Traceback (most recent call last):',
    'Apr 04 20:48:22 train devstack@n-api.service[10884]: ERROR nova.api.openstack.wsgi   File "/opt/stack/nova/nova/api/openstack/wsgi.py", line 658, in wrapped',
    'Apr 04 20:48:22 train devstack@n-api.service[10884]: ERROR nova.api.openstack.wsgi nova.exception.CellTimeout: Timeout waiting for response from cell',
  ];
  lines.forEach((l, i) => joiner.push(stream, line(l, i * 300), at(i)));
  const [event] = joiner.flushAll();
  assert.equal(event?.lines, 4);
  const value = osloLogNormaliser.normalise(event!.envelope).records[0]?.value as { error_stack_trace: string; error_type: string };
  assert.equal(value.error_stack_trace.split('\n').length, 3);
  assert.equal(value.error_type, 'nova.exception.CellTimeout');
});

test('streams interleave on one partition: each joins its own lines, and the commit limit never cuts an event', () => {
  const joiner = new TracebackJoiner();
  const a = 'h:/var/log/nova/nova-compute.log';
  const b = 'h:/var/log/nova/nova-api.log';
  const head = (pid: number) => `2024-02-29 14:03:11.402 ${pid} ERROR nova.x [-] failed`;
  const cont = (pid: number) => `2024-02-29 14:03:11.402 ${pid} ERROR nova.x   File "x.py", line 1, in f`;
  joiner.push(b, line(head(2), 0), at(5));
  joiner.push(b, line(cont(2), 0), at(6));
  joiner.push(a, line(head(1), 0), at(10));
  joiner.push(b, line(cont(2), 0), at(11));
  assert.equal(joiner.lowestHeldOffset(topic, 0), 5);
  // b's event (5..11) is emitted by b's next record; a's (from 10) is still held: committing 10 would
  // make a replay read b's line 11 without its header, so the limit falls back to 5
  const emitted = joiner.push(b, line('2024-02-29 14:03:12.000 2 INFO nova.x [-] next', 0), at(12));
  assert.deepEqual(emitted.map((e) => [e.firstOffset, e.lastOffset]), [[5, 11]]);
  assert.equal(joiner.lowestHeldOffset(topic, 0), 5);
  joiner.push(a, line(cont(1), 0), at(13));
  const fromA = joiner.push(a, line('2024-02-29 14:03:13.000 1 INFO nova.x [-] next', 0), at(14));
  assert.deepEqual(fromA.map((e) => [e.firstOffset, e.lastOffset]), [[10, 13]]);
  // held: b from 12, a from 14; but 12 cuts a's event (10..13), and 10 cuts b's (5..11)
  assert.equal(joiner.lowestHeldOffset(topic, 0), 5);
  joiner.push(b, line('2024-02-29 14:03:14.000 2 INFO nova.x [-] later', 0), at(15));
  assert.equal(joiner.lowestHeldOffset(topic, 0), 14, 'once the held lines are past every emitted event, the limit moves up to the oldest held line');
  assert.deepEqual(joiner.lowestHeldOffsets(), [{ topic, partition: 0, offset: 14 }]);
  assert.equal(joiner.stats().spans, 0, 'spans that can no longer matter are forgotten');
  assert.equal(joiner.lowestHeldOffset(topic, 1), undefined, 'a partition it never saw');
});

test('flushOlderThan emits the events whose last line is older than the age, oldest first', () => {
  const joiner = new TracebackJoiner();
  joiner.push('s1', line('2024-01-01 00:00:00.000 1 INFO a [-] one', 0), at(0), 1_000);
  joiner.push('s2', line('2024-01-01 00:00:00.000 2 INFO a [-] two', 0), at(1), 2_000);
  joiner.push('s1', line('  continuation of one', 0), at(2), 3_000);
  assert.deepEqual(messages(joiner.flushOlderThan(1_500, 3_600)), ['2024-01-01 00:00:00.000 2 INFO a [-] two'], 's1 was extended at 3000');
  assert.deepEqual(messages(joiner.flushOlderThan(500, 3_600)), ['2024-01-01 00:00:00.000 1 INFO a [-] one\n  continuation of one']);
  assert.deepEqual(joiner.flushOlderThan(0, 3_600), []);
});

test('caps: lines and bytes per event are cut (counted, flagged truncated), streams and held bytes evict the least recently extended', () => {
  const byLines = new TracebackJoiner({ maxLinesPerEvent: 3 });
  ['2024-01-01 00:00:00.000 1 ERROR a [-] x', ' 1', ' 2', ' 3', ' 4'].forEach((l, i) => byLines.push('s', line(l, 0), at(i)));
  const [cut] = byLines.flushAll();
  assert.equal(cut?.envelope.message, '2024-01-01 00:00:00.000 1 ERROR a [-] x\n 1\n 2');
  assert.deepEqual([cut?.lines, cut?.droppedLines, cut?.droppedBytes, cut?.lastOffset], [3, 2, 6, 4]);
  assert.deepEqual((cut?.envelope.log as { flags: string[] }).flags, ['multiline', 'truncated']);
  assert.deepEqual((osloLogNormaliser.normalise(cut!.envelope).records[0]?.value as { log: { flags: string[] } }).log.flags, ['multiline', 'truncated']);

  const shipperCut = new TracebackJoiner();
  const long = line('2024-01-01 00:00:00.000 1 ERROR a [-] x', 0);
  (long.log as Record<string, unknown>).flags = ['truncated'];
  [long, line(' 1', 0)].forEach((envelope, i) => shipperCut.push('s', envelope, at(i)));
  assert.deepEqual((shipperCut.flushAll()[0]?.envelope.log as { flags: string[] }).flags, ['truncated', 'multiline'], 'the shipper\'s flags stay');

  const byBytes = new TracebackJoiner({ maxBytesPerEvent: 50 });
  ['2024-01-01 00:00:00.000 1 ERROR a [-] x', ' short', ' '.padEnd(40, 'y')].forEach((l, i) => byBytes.push('s', line(l, 0), at(i)));
  assert.equal(byBytes.flushAll()[0]?.droppedLines, 1);

  const byStreams = new TracebackJoiner({ maxStreams: 2 });
  byStreams.push('s1', line('2024-01-01 00:00:00.000 1 INFO a [-] one', 0), at(0), 1);
  byStreams.push('s2', line('2024-01-01 00:00:00.000 2 INFO a [-] two', 0), at(1), 2);
  assert.deepEqual(messages(byStreams.push('s3', line('2024-01-01 00:00:00.000 3 INFO a [-] three', 0), at(2), 3)), ['2024-01-01 00:00:00.000 1 INFO a [-] one']);
  assert.equal(byStreams.stats().streams, 2);

  const byHeld = new TracebackJoiner({ maxHeldBytes: 100 });
  byHeld.push('s1', line('2024-01-01 00:00:00.000 1 INFO a [-] '.padEnd(60, 'a'), 0), at(0));
  assert.equal(byHeld.push('s2', line('2024-01-01 00:00:00.000 2 INFO a [-] '.padEnd(60, 'b'), 0), at(1)).length, 1);
  assert.ok(byHeld.stats().bytes <= 100);

  assert.throws(() => new TracebackJoiner({ maxStreams: 0 }), RangeError);
  assert.throws(() => new TracebackJoiner({ maxLinesPerEvent: 1.5 }), RangeError);
});

test('a revoked partition is forgotten, not emitted: the next owner reads its held lines again', () => {
  const joiner = new TracebackJoiner();
  joiner.push('s1', line('2024-01-01 00:00:00.000 1 INFO a [-] one', 0), at(7, 3));
  joiner.push('s2', line('2024-01-01 00:00:00.000 2 INFO a [-] two', 0), at(8, 4));
  assert.equal(joiner.dropPartition(topic, 3), 1);
  assert.equal(joiner.lowestHeldOffset(topic, 3), undefined);
  assert.deepEqual(messages(joiner.flushAll()), ['2024-01-01 00:00:00.000 2 INFO a [-] two']);
});

test('a stream whose lines move to another partition emits what it held there first', () => {
  const joiner = new TracebackJoiner();
  joiner.push('s', line('2024-01-01 00:00:00.000 1 ERROR a [-] one', 0), at(1, 0));
  assert.deepEqual(messages(joiner.push('s', line(' continuation', 0), at(1, 1))), ['2024-01-01 00:00:00.000 1 ERROR a [-] one']);
});

test('streamKeyOf: host and path without the rotation suffix, as the file tailer keys lines', () => {
  for (const p of ['/var/log/nova/nova-compute.log', '/var/log/nova/nova-compute.log.1', '/var/log/nova/nova-compute.log.12.gz', '/var/log/nova/nova-compute.log-20240229', '/var/log/nova/nova-compute.log.gz']) {
    assert.equal(streamKeyOf(line('x', 0, { path: p })), `${host}:/var/log/nova/nova-compute.log`, p);
  }
});

/** a random oslo-ish line: records, their exception-prefix lines, unprefixed continuations, JSON lines, garbage */
const anyLine = fc.oneof(
  fc.constantFrom(
    '2024-01-01 00:00:00.000 1 ERROR a [-] failed',
    '2024-01-01 00:00:00.000 1 ERROR a Traceback (most recent call last):',
    '2024-01-01 00:00:00.000 1 ERROR a   File "x.py", line 1',
    '2024-01-01 00:00:00.000 2 INFO b [None req-1c9f6d2e-7b3a-4e58-9c0d-2a4b6e8f1a3c - - - - - -] hello',
    'Traceback (most recent call last):',
    '    code()',
    '{"message": "m", "name": "n", "levelname": "INFO", "created": 1}',
    '',
  ),
  fc.string({ maxLength: 80 }),
);

test('property: the joiner never exceeds its caps, loses no line, keeps each stream\'s order, and its commit limit never cuts an event', () => {
  const limits = { maxLinesPerEvent: 4, maxBytesPerEvent: 200, maxStreams: 3, maxHeldBytes: 400, maxSpansPerPartition: 5 };
  fc.assert(
    fc.property(fc.array(fc.record({ stream: fc.integer({ min: 0, max: 5 }), text: anyLine, partition: fc.integer({ min: 0, max: 1 }), flush: fc.nat(20) }), { minLength: 20, maxLength: 150 }), (steps) => {
      const joiner = new TracebackJoiner(limits);
      const offsets = [0, 0];
      const pushed = new Map<string, number[]>();
      const events: JoinedEvent[] = [];
      const check = (out: JoinedEvent[]) => {
        for (const event of out) {
          assert.ok(event.lines <= limits.maxLinesPerEvent);
          assert.ok(Buffer.byteLength(event.envelope.message) <= Math.max(limits.maxBytesPerEvent, Buffer.byteLength(event.envelope.message.split('\n')[0] ?? '')));
          events.push(event);
        }
        const stats = joiner.stats();
        assert.ok(stats.streams <= limits.maxStreams && stats.bytes <= limits.maxHeldBytes + 200);
        // no emitted or held event may reach across the commit limit
        for (const partition of [0, 1]) {
          const limit = joiner.lowestHeldOffset(topic, partition);
          if (limit === undefined) continue;
          for (const e of events) if (e.partition === partition) assert.ok(!(e.firstOffset < limit && limit <= e.lastOffset), `event ${e.firstOffset}..${e.lastOffset} straddles ${limit}`);
        }
      };
      let now = 0;
      for (const step of steps) {
        const streamKey = `s${step.stream % 3}/${step.partition}`;
        const offset = (offsets[step.partition] as number) + 1;
        offsets[step.partition] = offset;
        (pushed.get(streamKey) ?? pushed.set(streamKey, []).get(streamKey))!.push(offset);
        now += step.flush;
        check(joiner.push(streamKey, line(step.text, offset), at(offset, step.partition), now));
        if (step.flush > 15) check(joiner.flushOlderThan(10, now));
      }
      check(joiner.flushAll());
      assert.equal(joiner.stats().streams, 0);
      // every line is in exactly one event, kept or counted as dropped, in its stream's order
      const seen = new Map<string, number>();
      for (const event of events) {
        const count = seen.get(event.streamKey) ?? 0;
        seen.set(event.streamKey, count + event.lines + event.droppedLines);
        const expected = pushed.get(event.streamKey)?.[count];
        assert.equal(event.firstOffset, expected, 'events of a stream come in order');
      }
      for (const [key, list] of pushed) assert.equal(seen.get(key), list.length, key);
    }),
    { numRuns: 400 },
  );
});
