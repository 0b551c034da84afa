import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncation } from '../../../../connectors/sources/apel-queue/complete.js';

const cloud = 'APEL-cloud-message: v0.4\nVMUUID: a\nSiteName: S\nWallDuration: 3600\n%%\nVMUUID: b\nSiteName: S\nWallDuration: 7200\n';
const ip = '{"Type": "APEL Public IP message", "Version": "0.2", "UsageRecords": [{"IPCount": 3}]}';
const star = '<sr:StorageUsageRecords xmlns:sr="http://eu-emi.eu/namespaces/2011/02/storagerecord"><sr:StorageUsageRecord><sr:Site>S</sr:Site></sr:StorageUsageRecord></sr:StorageUsageRecords>';

test('whole messages as cASO writes them are whole', () => {
  for (const whole of [cloud, ip, star, `<?xml version="1.0"?>\n${star}\n`, '<sr:StorageUsageRecords xmlns:sr="x" />', 'some other text without a header']) assert.equal(truncation(whole), undefined, whole);
});

test('every cut that leaves a line, a JSON document or an XML root unfinished is told, with why', () => {
  assert.match(truncation('') ?? '', /empty/);
  assert.match(truncation('  \n') ?? '', /white space/);
  for (let at = 1; at < cloud.length; at += 1) {
    if (cloud[at - 1] === '\n') continue; // a cut at a line end looks whole here
    assert.match(truncation(cloud.slice(0, at)) ?? '', /does not end with a newline/, `cloud cut at ${at}`);
  }
  for (let at = 1; at < ip.length; at += 1) assert.match(truncation(ip.slice(0, at)) ?? '', /JSON does not end/, `ip cut at ${at}`);
  // from the second byte on: "<" alone names no root yet
  for (let at = 2; at < star.length; at += 1) assert.match(truncation(star.slice(0, at)) ?? '', /XML does not end with the root element's end tag/, `star cut at ${at}`);
});
