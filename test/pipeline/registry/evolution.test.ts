import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { domainCodec } from '../../../pipeline/avro.js';
import { isTallyError } from '../../../pipeline/errors.js';
import { RegistryClient } from '../../../pipeline/registry/client.js';
import { fullTransitiveProblems } from '../../../pipeline/registry/compatibility.js';
import { decodeDomainValue, encodeDomainValue, prepareDomainValues, registerDomainSchemas, useRegistry } from '../../../pipeline/registry/domain-values.js';
import { registryApplies } from '../../../pipeline/registry/in-use.js';
import { checkAgainstRegistry } from '../../../pipeline/registry/schemas-check.js';
import { valueSubject } from '../../../pipeline/registry/serde.js';
import { encodeWire } from '../../../pipeline/registry/wire-format.js';
import { testConfig, uniqueName } from '../../support/world.js';

const codec = domainCodec('accounting.usage');
const current = codec.type.schema() as { fields: object[] } & Record<string, unknown>;
const withField = (field: object) => JSON.stringify({ ...current, fields: [...current.fields, field] });

/**
 * Schema evolution against the real registry (FULL_TRANSITIVE on every subject): a field added
 * with a default is accepted and a sink that has only today's schema reads records written with
 * it; a field added without a default is refused with the subject named, and `tally schemas check`
 * names the field and the rule.
 */
describe('schema evolution through the registry', { timeout: 120_000, skip: registryApplies(testConfig()) ? false : 'no schema registry in this test world' }, () => {
  const config = testConfig();
  const client = new RegistryClient(config.registry);
  const topic = `${uniqueName('evolution')}.accounting.usage`;
  const subject = valueSubject(topic);

  test('a compatible change (a new field with a default) is accepted and read by an old sink', async () => {
    useRegistry(client);
    try {
      const ids = await registerDomainSchemas([{ physical: topic, logical: 'accounting.usage' }]);
      const first = ids.get(topic);
      assert.ok(first !== undefined, 'today\'s schema registered');
      const value = { ...(codec.type.random() as unknown as Record<string, unknown>), id: 'u-1' };
      const written = encodeDomainValue(topic, codec, value);
      assert.equal(written.readUInt32BE(1), first);

      const next = withField({ name: 'site', type: ['null', 'string'], default: null });
      const nextId = await client.register(subject, next);
      assert.notEqual(nextId, first, 'a new version');
      const newer = encodeWire(nextId, avro.Type.forSchema(JSON.parse(next) as avro.Schema).toBuffer({ ...value, site: 'CYFRONET' }));
      await prepareDomainValues([{ value: newer, headers: {} }]);
      const read = decodeDomainValue('accounting.usage', { value: newer, headers: {} }, `${topic} offset 1`);
      assert.deepEqual(read, codec.decode(codec.encode(value)), 'the old sink reads the new record, without the field it does not know');
    } finally {
      useRegistry(undefined);
    }
  });

  test('an incompatible change (a new field without a default) is refused, naming the subject; schemas check names the field and the rule', async () => {
    const refused = await client.register(subject, withField({ name: 'project', type: 'string' })).catch((error: unknown) => error);
    assert.ok(isTallyError(refused, 'REGISTRY_INCOMPATIBLE'), `refused as incompatible: ${String(refused)}`);
    assert.match(refused.message, new RegExp(`\\(${subject.replace(/\./g, '\\.')}\\)`));
    const verdict = await client.checkCompatibility(subject, withField({ name: 'project', type: 'string' }));
    assert.equal(verdict.compatible, false);

    const versions = (await client.versions(subject)).map((text) => JSON.parse(text) as avro.Schema);
    const named = fullTransitiveProblems(JSON.parse(withField({ name: 'project', type: 'string' })) as avro.Schema, versions);
    assert.deepEqual([...new Set(named.map((p) => `${p.direction} ${p.field} ${p.rule}`))], ['backward tally.accounting.Usage.project new-field-without-default']);

    const checks = await checkAgainstRegistry(client, (logical) => `${topic.slice(0, -'accounting.usage'.length)}${logical}`);
    const usageCheck = checks.find((c) => c.topic === 'accounting.usage');
    assert.equal(usageCheck?.earlier, 2, 'both registered versions compared');
    assert.deepEqual(usageCheck?.problems, [], 'today\'s schema still reads, and is read by, both versions');
  });
});
