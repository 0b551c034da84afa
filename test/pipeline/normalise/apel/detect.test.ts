import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { detectApelFormat } from '../../../../pipeline/normalise/apel/detect.js';

describe('detect: the format of an APEL message', () => {
  const cases: [string, string][] = [
    ['APEL-cloud-message: v0.4\nVMUUID: x', 'cloud-text'],
    ['anything else', 'cloud-text'],
    ['\n  <sr:StorageUsageRecords/>', 'star-xml'],
    ['<?xml version="1.0"?><x/>', 'star-xml'],
    ['{"Type": "APEL Public IP message", "Version": "0.2", "UsageRecords": []}', 'ip-json'],
    ['{"Type": "APEL-accelerator-message", "Version": "0.1", "UsageRecords": []}', 'accelerator-json'],
    ['{"Type": "APEL-energy-message", "Version": "0.1", "UsageRecords": []}', 'energy-json'],
    ['[{"ExecUnitID": "x"}]', 'energy-json'],
    ['[]', 'energy-json'],
  ];
  for (const [text, format] of cases) {
    test(`${JSON.stringify(text.slice(0, 40))} is ${format}`, () => assert.equal(detectApelFormat(text).format, format));
  }

  const refused: [string, RegExp][] = [
    ['{"Type": "APEL Public IP message"', /starts like JSON but is not valid JSON/],
    ['{"SiteName": "S", "VMUUID": "v"}', /a single cASO record \(it has `VMUUID`\) without an APEL message around it; send it as kind caso-json/],
    ['{"Type": "Spammy Type"}', /`Type` "Spammy Type" is not one Tally reads: expected "APEL Public IP message", "APEL-accelerator-message" or one naming energy/],
    ['{"Key": "Value"}', /has no `Type`/],
    ['[{"VMUUID": "v"}]', /only energy messages are/],
    ['[1, 2]', /first item is 1/],
    ['{"Type": "APEL-cloud-message"}', /cloud records are key: value text, not JSON/],
  ];
  for (const [text, reason] of refused) {
    test(`${JSON.stringify(text.slice(0, 40))} is refused in words`, () => {
      const detected = detectApelFormat(text);
      assert.equal(detected.format, 'unknown');
      assert.match(detected.format === 'unknown' ? detected.problem.message : '', reason);
    });
  }
});
