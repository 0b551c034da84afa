import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../pipeline/config/load.js';
import { registryApplies } from '../../../pipeline/registry/in-use.js';

const config = (env: Record<string, string>) => loadConfig({ env });

test('the local registry applies beside the local Kafka, and not beside an external one', () => {
  assert.equal(registryApplies(config({})), true);
  assert.equal(registryApplies(config({ TALLY_KAFKA__BROKERS: '["kafka.example.org:9092"]' })), false);
});

test('a registry.url of ones own applies with any Kafka', () => {
  assert.equal(registryApplies(config({ TALLY_KAFKA__BROKERS: '["kafka.example.org:9092"]', TALLY_REGISTRY__URL: 'https://registry.example.org' })), true);
});

test('registry.enabled false: no registry, whatever the Kafka and URL', () => {
  assert.equal(registryApplies(config({ TALLY_REGISTRY__ENABLED: 'false' })), false);
  assert.equal(registryApplies(config({ TALLY_REGISTRY__ENABLED: 'false', TALLY_REGISTRY__URL: 'https://registry.example.org' })), false);
});
