import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDeflate, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { encodeAck, encodeWindow, LumberjackDecoder, type DecodedWindow, type LumberjackLimits } from '../../../../connectors/sources/beats/protocol.js';
import { isTallyError } from '../../../../pipeline/errors.js';
import { fixture } from './support.js';

// Frames built by hand from the protocol (not with the encoder under test): version, type, u32 BE.
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const W = (count: number, version = '2'): Buffer => Buffer.concat([Buffer.from(`${version}W`), u32(count)]);
const J = (seq: number, json: string | Buffer): Buffer => {
  const body = Buffer.isBuffer(json) ? json : Buffer.from(json);
  return Buffer.concat([Buffer.from('2J'), u32(seq), u32(body.length), body]);
};
const C = (inner: Buffer, version = '2', level = 3): Buffer => {
  const z = deflateSync(inner, { level });
  return Buffer.concat([Buffer.from(`${version}C`), u32(z.length), z]);
};
const D = (seq: number, pairs: [string, string][]): Buffer =>
  Buffer.concat([Buffer.from('1D'), u32(seq), u32(pairs.length), ...pairs.flatMap(([k, v]) => [u32(Buffer.byteLength(k)), Buffer.from(k), u32(Buffer.byteLength(v)), Buffer.from(v)])]);

function decodeAll(decoder: LumberjackDecoder, chunks: Buffer[]): DecodedWindow[] {
  const windows: DecodedWindow[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let w = decoder.next(); w; w = decoder.next()) windows.push(w);
  }
  return windows;
}

const decode = (bytes: Buffer, limits: Partial<LumberjackLimits> = {}): DecodedWindow[] => decodeAll(new LumberjackDecoder(limits), [bytes]);
const texts = (w: DecodedWindow): string[] => w.events.map((e) => e.payload.toString('utf8'));

function protocolError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isTallyError(error, 'PROTOCOL_ERROR'), `expected PROTOCOL_ERROR, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

/** Split `bytes` at the given cut points. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

const e1 = '{"message":"one"}';
const e2 = '{"message":"two","n":2}';
const e3 = '{"message":"trois ✓"}';
/** three windows: bare JSON frames, one compressed frame, and a mix of both */
const stream = Buffer.concat([W(2), J(1, e1), J(2, e2), W(3), C(Buffer.concat([J(1, e1), J(2, e2), J(3, e3)])), W(3), J(1, e3), C(Buffer.concat([J(2, e2), J(3, e1)]))]);
const expected = [[e1, e2], [e1, e2, e3], [e3, e2, e1]];

describe('lumberjack decoder: frames', () => {
  test('the golden fixtures (go-lumber client layout) decode to their events; the ack frame matches', () => {
    const golden = JSON.parse(fixture('golden-frames.json')) as { frames: { name: string; hex: string; events: { seq: number; json: string }[]; ack: string }[] };
    for (const frame of golden.frames) {
      if (frame.hex) {
        const [window, ...rest] = decode(Buffer.from(frame.hex, 'hex'));
        assert.equal(rest.length, 0, frame.name);
        assert.ok(window);
        assert.deepEqual(window.events.map((e) => ({ seq: e.seq, json: e.payload.toString() })), frame.events, frame.name);
        assert.equal(encodeAck(window.lastSeq).toString('hex'), frame.ack, frame.name);
      } else {
        assert.equal(encodeAck(0).toString('hex'), frame.ack, frame.name);
      }
    }
  });

  test('the client encoder writes what go-lumber writes (window, JSON frames from seq 1, one compressed frame)', () => {
    const golden = JSON.parse(fixture('golden-frames.json')) as { frames: { hex: string }[] };
    assert.equal(encodeWindow([{ message: 'hi' }]).toString('hex'), golden.frames[0]?.hex);
    assert.equal(encodeWindow([{ message: 'hi' }], { compressionLevel: 3 }).toString('hex'), golden.frames[1]?.hex);
    assert.deepEqual(decode(encodeWindow([e1, e2, e3], { compressionLevel: 6 })).map(texts), [[e1, e2, e3]]);
  });

  test('windows of JSON frames, compressed frames and a mix of both', () => {
    const windows = decode(stream);
    assert.deepEqual(windows.map(texts), expected);
    assert.deepEqual(windows.map((w) => [w.version, w.size, w.lastSeq]), [[2, 2, 2], [2, 3, 3], [2, 3, 3]]);
  });

  test('split one byte at a time, the same windows come out', () => {
    const chunks = [...stream].map((b) => Buffer.from([b]));
    assert.deepEqual(decodeAll(new LumberjackDecoder(), chunks).map(texts), expected);
  });

  test('split at any chunk boundaries, the same windows come out (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        assert.deepEqual(decodeAll(new LumberjackDecoder(), split(stream, cuts)).map(texts), expected);
      }),
      { numRuns: 300 },
    );
  });

  test('any events, any compression, any split: decoded exactly as encoded (property)', () => {
    const event = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.boolean()), { maxKeys: 4 });
    fc.assert(
      fc.property(fc.array(fc.array(event, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 9 }), fc.array(fc.nat(), { maxLength: 8 }), (windows, level, cuts) => {
        const bytes = Buffer.concat(windows.map((events) => encodeWindow(events, { compressionLevel: level })));
        const decoded = decodeAll(new LumberjackDecoder(), split(bytes, cuts));
        assert.deepEqual(
          decoded.map((w) => w.events.map((e) => JSON.parse(e.payload.toString()) as unknown)),
          JSON.parse(JSON.stringify(windows)),
        );
        assert.deepEqual(
          decoded.map((w) => w.lastSeq),
          windows.map((w) => w.length),
        );
      }),
      { numRuns: 200 },
    );
  });

  test('bytes of later windows stay queued until asked for (the caller decides how much to hold)', () => {
    const decoder = new LumberjackDecoder();
    decoder.push(stream);
    assert.deepEqual(texts(decoder.next() as DecodedWindow), expected[0]);
    assert.ok(decoder.buffered > 0, 'the other windows are still bytes');
    assert.equal(decoder.idle, false);
    decoder.next();
    decoder.next();
    assert.equal(decoder.next(), undefined);
    assert.equal(decoder.idle, true);
  });

  test('a truncated window waits for the rest; it is not idle meanwhile', () => {
    const decoder = new LumberjackDecoder();
    const bytes = Buffer.concat([W(2), J(1, e1), J(2, e2)]);
    decoder.push(bytes.subarray(0, bytes.length - 3));
    assert.equal(decoder.next(), undefined);
    assert.equal(decoder.idle, false);
    decoder.push(bytes.subarray(bytes.length - 3));
    assert.deepEqual(texts(decoder.next() as DecodedWindow), [e1, e2]);
    assert.equal(decoder.idle, true);
  });

  test('the ack is the highest sequence number of the window (clients that do not restart at 1)', () => {
    const [window] = decode(Buffer.concat([W(3), J(101, e1), J(103, e2), J(102, e3)]));
    assert.equal(window?.lastSeq, 103);
    assert.equal(encodeAck(103).toString('hex'), '324100000067');
  });

  test('an empty window is a window of no events, acknowledged with 0 (as Logstash does)', () => {
    const [empty, next] = decode(Buffer.concat([W(0), W(1), J(1, e1)]));
    assert.deepEqual([empty?.size, empty?.events.length, empty?.lastSeq], [0, 0, 0]);
    assert.deepEqual(texts(next as DecodedWindow), [e1]);
  });

  test('protocol 1: key/value data frames become JSON objects, line as message, acked with 1A', () => {
    const [window] = decode(Buffer.concat([W(2, '1'), D(1, [['line', 'hello'], ['file', '/var/log/x'], ['__proto__', 'p']]), C(D(2, [['message', 'm'], ['line', 'l']]), '1')]));
    assert.ok(window);
    assert.equal(window.version, 1);
    const [first, second] = window.events.map((e) => JSON.parse(e.payload.toString()) as Record<string, unknown>);
    assert.deepEqual(Object.entries(first ?? {}), [['line', 'hello'], ['file', '/var/log/x'], ['__proto__', 'p'], ['message', 'hello']]);
    assert.equal(Object.getPrototypeOf(first), Object.prototype, 'no prototype pollution');
    assert.deepEqual(second, { message: 'm', line: 'l' });
    assert.equal(encodeAck(window.lastSeq, 1).toString(), '1A\u0000\u0000\u0000\u0002');
  });
});

describe('lumberjack decoder: hostile input is a typed protocol error, before anything is allocated', () => {
  test('a window of 2^32-1 events', () => {
    protocolError(() => decode(W(0xffffffff)), /window of 4294967295 events is over the limit of 10000/);
  });

  test('a JSON frame claiming 4 GB: refused on its 10-byte header, no payload needed', () => {
    const before = process.memoryUsage().arrayBuffers;
    protocolError(() => decode(Buffer.concat([W(1), Buffer.from('2J'), u32(1), u32(0xffffffff)])), /JSON frame 1 of 4294967295 bytes is over the limit/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
  });

  test('a compressed frame claiming 4 GB', () => {
    protocolError(() => decode(Buffer.concat([W(1), Buffer.from('2C'), u32(0xffffffff)])), /compressed frame of 4294967295 bytes is over the limit/);
  });

  test('a v1 data frame announcing 2^32-1 fields, or a key claiming 4 GB', () => {
    protocolError(() => decode(Buffer.concat([W(1, '1'), Buffer.from('1D'), u32(1), u32(0xffffffff)])), /announces 4294967295 fields/);
    protocolError(() => decode(Buffer.concat([W(1, '1'), Buffer.from('1D'), u32(1), u32(1), u32(0xffffffff)])), /over the payload limit/);
  });

  test('the window byte limit counts every event of the window', () => {
    protocolError(() => decode(Buffer.concat([W(3), J(1, 'x'.repeat(40)), J(2, 'x'.repeat(40)), J(3, 'x'.repeat(40))]), { maxWindowBytes: 100 }), /over the limit of 100 payload bytes/);
  });

  test('a zlib bomb stops at the decompression limit without inflating the rest', async () => {
    // 256 MB of zeros inside one JSON frame, about 250 KB compressed
    const deflate = createDeflate({ level: 9 });
    const parts: Buffer[] = [];
    deflate.on('data', (b: Buffer) => parts.push(b));
    const done = new Promise((resolve) => deflate.on('end', resolve));
    deflate.write(Buffer.concat([Buffer.from('2J'), u32(1), u32(256 * 1024 * 1024)]));
    const zeros = Buffer.alloc(1024 * 1024, 0x30);
    for (let i = 0; i < 256; i += 1) deflate.write(zeros);
    deflate.end();
    await done;
    const bomb = Buffer.concat(parts);
    assert.ok(bomb.length < 1024 * 1024, `bomb is ${bomb.length} bytes`);
    const before = process.memoryUsage().arrayBuffers;
    protocolError(() => decode(Buffer.concat([W(1), Buffer.from('2C'), u32(bomb.length), bomb]), { maxDecompressedBytes: 4 * 1024 * 1024, maxPayloadBytes: 1024 * 1024 * 1024, maxWindowBytes: 1024 * 1024 * 1024 }), /inflates to more than the limit of 4194304 bytes/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'memory stayed bounded');
  });

  test('a bad version byte, an unknown frame type, a v1 frame type under v2, an ack sent by a client', () => {
    protocolError(() => decode(Buffer.from('3W\u0000\u0000\u0000\u0001')), /unsupported protocol version byte 0x33/);
    protocolError(() => decode(Buffer.from('GET / HTTP/1.1\r\n')), /unsupported protocol version byte 0x47/);
    protocolError(() => decode(Buffer.concat([W(1), Buffer.from('2X')])), /unknown frame type 0x58 for protocol version 2/);
    protocolError(() => decode(Buffer.concat([W(1), Buffer.from('2D')])), /unknown frame type 0x44 for protocol version 2/);
    protocolError(() => decode(encodeAck(1)), /unknown frame type 0x41/);
  });

  test('frames out of place: data outside a window, a window inside a compressed frame, a new window too early, more events than announced', () => {
    protocolError(() => decode(J(1, e1)), /data frame outside a window/);
    protocolError(() => decode(C(J(1, e1))), /compressed frame outside a window/);
    protocolError(() => decode(Buffer.concat([W(1), C(Buffer.concat([W(1), J(1, e1)]))])), /window frame inside a compressed frame/);
    protocolError(() => decode(Buffer.concat([W(2), J(1, e1), W(1)])), /new window began after 1 of the 2 events/);
    protocolError(() => decode(Buffer.concat([W(1), C(Buffer.concat([J(1, e1), J(2, e2)]))])), /data frame outside a window/);
    protocolError(() => decode(Buffer.concat([W(1, '1'), J(1, e1)])), /data frame of protocol version 2 inside a version 1 window/);
    protocolError(() => decode(Buffer.concat([W(1, '1'), Buffer.from('1J')])), /unknown frame type 0x4a for protocol version 1/);
    protocolError(() => decode(Buffer.concat([W(2), Buffer.from('1C'), u32(1), Buffer.from('x')])), /of protocol version 1 inside a version 2 window/);
  });

  test('compressed frames that are not zlib, truncated inside, or nested too deep', () => {
    protocolError(() => decode(Buffer.concat([W(1), Buffer.from('2C'), u32(5), Buffer.from('hello')])), /not a valid zlib stream/);
    const gzip = Buffer.from('1f8b0800000000000003', 'hex');
    protocolError(() => decode(Buffer.concat([W(1), Buffer.from('2C'), u32(gzip.length), gzip])), /not a valid zlib stream/);
    const cut = J(1, e1).subarray(0, 12);
    protocolError(() => decode(Buffer.concat([W(1), C(cut)])), /ends inside a frame/);
    protocolError(() => decode(Buffer.concat([W(1), C(C(C(J(1, e1))))])), /nested more than 2 deep/);
    assert.deepEqual(decode(Buffer.concat([W(1), C(C(J(1, e1)))])).map(texts), [[e1]], 'one level of nesting is accepted');
  });

  test('zero lengths are refused (Logstash: "Invalid json length")', () => {
    protocolError(() => decode(Buffer.concat([W(1), Buffer.from('2J'), u32(1), u32(0)])), /JSON frame 1 has length 0/);
    protocolError(() => decode(Buffer.concat([W(1), Buffer.from('2C'), u32(0)])), /compressed frame has length 0/);
  });

  test('after a protocol error the decoder stays failed', () => {
    const decoder = new LumberjackDecoder();
    decoder.push(Buffer.from('99'));
    protocolError(() => decoder.next(), /version/);
    protocolError(() => decoder.push(stream), /version/);
    protocolError(() => decoder.next(), /version/);
  });

  test('any bytes at all: windows or a protocol error, never another exception (property)', () => {
    const prefix = fc.constantFrom(Buffer.alloc(0), W(1), W(2), W(3, '1'), Buffer.from('2J'), Buffer.from('2C'));
    fc.assert(
      fc.property(prefix, fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 5 }), (head, tail, cuts) => {
        const bytes = Buffer.concat([head, Buffer.from(tail)]);
        try {
          decodeAll(new LumberjackDecoder({ maxPayloadBytes: 1024, maxCompressedBytes: 1024, maxDecompressedBytes: 4096, maxWindowBytes: 4096 }), split(bytes, cuts));
        } catch (error) {
          assert.ok(isTallyError(error, 'PROTOCOL_ERROR'), `unexpected ${String(error)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
