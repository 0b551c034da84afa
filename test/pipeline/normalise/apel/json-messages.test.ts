import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAcceleratorJson } from '../../../../pipeline/normalise/apel/accelerator-json.js';
import { parseEnergyJson } from '../../../../pipeline/normalise/apel/energy-json.js';
import { parseIpJson } from '../../../../pipeline/normalise/apel/ip-json.js';

describe('JSON messages: public IP, accelerator, energy', () => {
  test('IP: Version "0.2" (cASO) and "v0.2" (APEL PR #226); each UsageRecords item a part, framed in its own message', () => {
    for (const Version of ['0.2', 'v0.2']) {
      const outcome = parseIpJson({ Type: 'APEL Public IP message', Version, UsageRecords: [{ SiteName: 'S' }, { SiteName: 'T' }] });
      assert.equal(outcome.message?.format, `APEL Public IP message ${Version}`);
      assert.equal(outcome.message?.recordType, 'ip');
      assert.deepEqual(outcome.message?.parts.map((p) => [p.number, p.at, p.fields]), [
        [1, 'UsageRecords[0]', { SiteName: 'S' }],
        [2, 'UsageRecords[1]', { SiteName: 'T' }],
      ]);
      assert.deepEqual(JSON.parse(outcome.message?.parts[1]?.original as string), { Type: 'APEL Public IP message', Version, UsageRecords: [{ SiteName: 'T' }] });
    }
  });

  test('IP: another Version, or UsageRecords not a list, is a problem of the whole message', () => {
    assert.match(parseIpJson({ Type: 'APEL Public IP message', Version: 0.2, UsageRecords: [] }).problem?.message ?? '', /has `Version` 0.2; Tally reads "0.2" and "v0.2"/);
    assert.match(parseIpJson({ Type: 'APEL Public IP message', Version: '0.2' }).problem?.message ?? '', /must carry its records as a JSON array `UsageRecords`, got none/);
  });

  test('an item that is not an object is a problem of that record only', () => {
    const parts = parseAcceleratorJson({ Type: 'APEL-accelerator-message', Version: '0.1', UsageRecords: [{ SiteName: 'S' }, 'x', null] }).message?.parts ?? [];
    assert.deepEqual(parts.map((p) => p.fields === null), [false, true, true]);
    assert.equal(parts[1]?.problems[0]?.message, 'record 2 of `UsageRecords` must be a JSON object of fields, got "x"');
  });

  test('accelerator: Version "0.1"; empty UsageRecords is no records', () => {
    assert.deepEqual(parseAcceleratorJson({ Type: 'APEL-accelerator-message', Version: '0.1', UsageRecords: [] }).message?.parts, []);
    assert.equal(parseAcceleratorJson({ Type: 'APEL-accelerator-message', Version: '1.0', UsageRecords: [] }).problem?.rule, 'version');
  });

  test('energy: a plain array (the greendigit_cim body), framed as a one-item array; or an envelope', () => {
    const array = parseEnergyJson([{ ExecUnitID: 'a' }, { ExecUnitID: 'b' }]).message;
    assert.equal(array?.format, 'energy JSON');
    assert.equal(array?.parts[1]?.original, '[{"ExecUnitID":"b"}]');
    const envelope = parseEnergyJson({ Type: 'APEL-energy-message', Version: '0.1', UsageRecords: [{ ExecUnitID: 'a' }] }).message;
    assert.equal(envelope?.format, 'APEL-energy-message 0.1');
    assert.equal(envelope?.recordType, 'energy');
  });
});
