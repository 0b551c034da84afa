import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cloudKeysByVersion, parseCloudText } from '../../../../pipeline/normalise/apel/cloud-text.js';
import type { ParsedMessage, RecordPart } from '../../../../pipeline/normalise/apel/types.js';

function parsed(text: string): ParsedMessage {
  const outcome = parseCloudText(text);
  assert.ok(outcome.message, outcome.problem?.message);
  return outcome.message;
}

function onlyPart(text: string): RecordPart {
  const { parts } = parsed(text);
  assert.equal(parts.length, 1);
  return parts[0] as RecordPart;
}

const record = (...lines: string[]) => `APEL-cloud-message: v0.4\n${lines.join('\n')}\n`;

describe('cloud text: the header', () => {
  for (const header of ['APEL-cloud-message: v0.4', 'APEL-cloud-message: v0.2', 'APEL-cloud-message:v0.4', '  APEL-cloud-message: v9.9  ']) {
    test(`${JSON.stringify(header)} is read, as APEL reads it`, () => {
      const message = parsed(`\n${header}\nVMUUID: x\nSiteName: S\n`);
      assert.equal(message.recordType, 'vm');
      assert.equal(message.format, `APEL-cloud-message: ${header.trim().slice(header.trim().indexOf(':') + 1).trim()}`);
      assert.equal(message.parts.length, 1);
    });
  }

  test('the message type is case-sensitive', () => {
    assert.match(parseCloudText('apel-cloud-message: v0.4\nVMUUID: x').problem?.message ?? '', /must spell the message type `APEL-cloud-message` exactly/);
  });

  test('a header without a colon', () => {
    const problem = parseCloudText('APEL-cloud-message\nVMUUID: x').problem;
    assert.equal(problem?.code, 'RECORD_UNPARSABLE');
    assert.match(problem?.message ?? '', /needs a colon after the message type/);
  });

  test('another APEL message type says it is not a cloud message', () => {
    assert.match(parseCloudText('APEL-individual-job-message: v0.3\nSite: x').problem?.message ?? '', /names an APEL message that is not a cloud accounting message/);
  });

  test('an empty message', () => {
    assert.equal(parseCloudText(' \n\n').problem?.rule, 'empty');
  });

  test('a header alone: no records', () => {
    assert.deepEqual(parsed('APEL-cloud-message: v0.4\n').parts, []);
  });

  test('the keys of each version: v0.4 = v0.2 + CloudComputeService, PublicIPCount, BenchmarkType, Benchmark', () => {
    const v02 = cloudKeysByVersion['v0.2'] as readonly string[];
    const v04 = cloudKeysByVersion['v0.4'] as readonly string[];
    assert.equal(v02.length, 22);
    assert.deepEqual(v04.filter((k) => !v02.includes(k)), ['CloudComputeService', 'PublicIPCount', 'BenchmarkType', 'Benchmark']);
  });
});

describe('cloud text: records', () => {
  test('records are separated by %% lines; a trailing %%, double %% and blank lines around records are fine', () => {
    const message = parsed('APEL-cloud-message: v0.4\nVMUUID: a\n%%\n%%\n\nVMUUID: b\n%%%%\nVMUUID: c\n%%\n\n');
    assert.deepEqual(message.parts.map((p) => [p.number, p.fields?.VMUUID, p.at]), [
      [1, 'a', 'line 2'],
      [2, 'b', 'line 6'],
      [3, 'c', 'line 8'],
    ]);
  });

  test('CRLF line ends, indentation and spaces around the colon', () => {
    const part = onlyPart('APEL-cloud-message: v0.4\r\n   VMUUID :  a:b:c  \r\n\tSiteName: S\r\n');
    assert.deepEqual(part.fields, { VMUUID: 'a:b:c', SiteName: 'S' });
    assert.deepEqual(part.problems, []);
  });

  test('integers, decimals and times become numbers; text that is not of its type stays text for the schema to refuse', () => {
    const part = onlyPart(record('Memory: 16', 'Disk: 16.0', 'CpuCount: 1.5', 'Benchmark: 12', 'WallDuration: -1', 'StartTime: 1684619946', 'EndTime: 1684619946.5', 'NetworkInbound: 1e3', 'MachineName: 007'));
    assert.deepEqual(part.fields, { Memory: 16, Disk: '16.0', CpuCount: 1.5, Benchmark: 12, WallDuration: -1, StartTime: 1684619946, EndTime: '1684619946.5', NetworkInbound: '1e3', MachineName: '007' });
  });

  test('a time as YYYY-MM-DDTHH:MM:SSZ (the one date-time APEL reads) becomes epoch seconds, read as UTC', () => {
    assert.equal(onlyPart(record('StartTime: 2023-05-20T21:59:06Z')).fields?.StartTime, 1684619946);
    assert.equal(onlyPart(record('StartTime: 2023-05-20T21:59:06+02:00')).fields?.StartTime, '2023-05-20T21:59:06+02:00');
  });

  test('empty, none and null values are no value, as APEL reads them; the written text is kept for reasons', () => {
    const part = onlyPart(record('Disk:', 'Memory: NULL', 'MachineName: none', 'SiteName: S'));
    assert.deepEqual(part.fields, { SiteName: 'S' });
    assert.equal(part.written?.get('Memory'), 'NULL');
  });

  test('the same key twice with the same value is fine; with another value it is a problem (APEL keeps the last silently)', () => {
    assert.deepEqual(onlyPart(record('SiteName: S', 'SiteName: S')).problems, []);
    const [problem] = onlyPart(record('SiteName: S', 'VMUUID: v', 'SiteName: T')).problems;
    assert.equal(problem?.rule, 'duplicate-field');
    assert.equal(problem?.message, '`SiteName` is given twice, as "S" (line 2) and "T" (line 4); APEL would keep the last silently');
  });

  test('a line without a colon is a problem of its record alone', () => {
    const message = parsed('APEL-cloud-message: v0.4\nVMUUID: a\nSiteName S\n%%\nVMUUID: b\n');
    assert.equal(message.parts[0]?.problems[0]?.rule, 'key-value');
    assert.equal(message.parts[0]?.problems[0]?.message, 'line 3 "SiteName S" has no `:`: every line of a record is `Key: Value`');
    assert.deepEqual(message.parts[1]?.problems, []);
  });

  test('%% inside a value is a problem (APEL would split the record there)', () => {
    assert.equal(onlyPart(record('VMUUID: a', 'MachineName: 100%% busy')).problems[0]?.rule, 'separator-in-value');
  });

  test('a blank line inside a record is read over (APEL refuses the message)', () => {
    const part = onlyPart(record('VMUUID: a', '', 'SiteName: S'));
    assert.deepEqual(part.fields, { VMUUID: 'a', SiteName: 'S' });
    assert.deepEqual(part.problems, []);
  });

  test('each record\'s original is a one-record message with the header: its own lines as written', () => {
    const message = parsed('APEL-cloud-message: v0.2\nVMUUID: a\n  SiteName: S\n%%\nVMUUID: b\n');
    assert.equal(message.parts[0]?.original, 'APEL-cloud-message: v0.2\nVMUUID: a\n  SiteName: S\n');
    assert.equal(message.parts[1]?.original, 'APEL-cloud-message: v0.2\nVMUUID: b\n');
  });

  test('Python\'s other line breaks end lines as they do for APEL', () => {
    assert.deepEqual(onlyPart('APEL-cloud-message: v0.4\u2028VMUUID: a\u000bSiteName: S').fields, { VMUUID: 'a', SiteName: 'S' });
  });

  test('non-ASCII values are kept', () => {
    assert.equal(onlyPart(record('MachineName: café – Ωmega')).fields?.MachineName, 'café – Ωmega');
  });
});
