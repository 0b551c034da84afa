import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLocal } from '../../../pipeline/services/index.js';
import { kafkaNodes, kafkaReplication } from '../../../pipeline/services/kafka-topology.js';
import { loadWith, rejectedConfig } from '../../support/config-rules.js';

test('one broker by default: the same bootstrap, ports and replication as before clusters existed', () => {
  const config = loadWith();
  assert.equal(config.services.kafka.brokers, 1);
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:19092']);
  assert.deepEqual(kafkaNodes(config.services.kafka), [{ nodeId: 1, port: 19092, controllerPort: 19093, voter: true }]);
  assert.deepEqual(kafkaReplication(config.services.kafka), { replicationFactor: 1, minInsyncReplicas: 1 });
  assert.equal(isLocal(config, 'kafka'), true);
});

test('three brokers: every node in the default bootstrap, ports 2 apart, three voters, replication 3 / min ISR 2', () => {
  const config = loadWith('services.kafka.brokers=3');
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:19092', '127.0.0.1:19094', '127.0.0.1:19096']);
  assert.deepEqual(
    kafkaNodes(config.services.kafka).map((n) => [n.nodeId, n.port, n.controllerPort, n.voter]),
    [
      [1, 19092, 19093, true],
      [2, 19094, 19095, true],
      [3, 19096, 19097, true],
    ],
  );
  assert.deepEqual(kafkaReplication(config.services.kafka), { replicationFactor: 3, minInsyncReplicas: 2 });
  assert.equal(isLocal(config, 'kafka'), true);
  assert.equal(isLocal(loadWith('services.kafka.brokers=3', 'kafka.brokers=["127.0.0.1:19094"]'), 'kafka'), true, 'one local node is still the local Kafka');
  assert.equal(isLocal(loadWith('services.kafka.brokers=3', 'kafka.brokers=["127.0.0.1:19092","10.0.0.1:9092"]'), 'kafka'), false);
});

test('two brokers: node 1 is the only voter, replication 2 / min ISR 1; four: three voters', () => {
  const two = loadWith('services.kafka.brokers=2').services.kafka;
  assert.deepEqual(kafkaNodes(two).map((n) => n.voter), [true, false]);
  assert.equal(kafkaNodes(two)[1]?.controllerPort, undefined);
  assert.deepEqual(kafkaReplication(two), { replicationFactor: 2, minInsyncReplicas: 1 });
  assert.deepEqual(kafkaNodes(loadWith('services.kafka.brokers=4').services.kafka).map((n) => n.voter), [true, true, true, false]);
});

test('replication and min ISR can be set; topics.minInsyncReplicas is read', () => {
  const config = loadWith('services.kafka.brokers=3', 'services.kafka.replicationFactor=2', 'topics.minInsyncReplicas=2', 'topics.replicationFactor=3');
  assert.deepEqual(kafkaReplication(config.services.kafka), { replicationFactor: 2, minInsyncReplicas: 1 });
  assert.equal(config.topics.minInsyncReplicas, 2);
});

test('impossible cluster settings are CONFIG_INVALID naming the key', () => {
  assert.match(rejectedConfig(['services.kafka.brokers=0']).message, /services\.kafka\.brokers: must be >= 1/);
  assert.match(rejectedConfig(['services.kafka.brokers=2', 'services.kafka.replicationFactor=3']).message, /services\.kafka\.replicationFactor: 3 is more than services\.kafka\.brokers \(2\)/);
  assert.match(rejectedConfig(['services.kafka.brokers=3', 'services.kafka.minInsyncReplicas=4']).message, /services\.kafka\.minInsyncReplicas: 4 is more than the replication factor \(3\)/);
  assert.match(rejectedConfig(['topics.replicationFactor=2', 'topics.minInsyncReplicas=3']).message, /topics\.minInsyncReplicas: 3 is more than topics\.replicationFactor \(2\)/);
  assert.match(rejectedConfig(['services.kafka.brokers=3', 'services.kafka.controllerPort=19094']).message, /services\.kafka\.port \(node 2: port \+ 2\): port 19094 is also services\.kafka\.controllerPort \(node 1: controllerPort \+ 0\)/);
  assert.match(rejectedConfig(['services.kafka.brokers=5', 'services.kafka.port=19192']).message, /port 19200 is also services\.elasticsearch\.httpPort/);
  assert.match(rejectedConfig(['services.kafka.brokers=2', 'services.kafka.port=65534']).message, /services\.kafka\.port \(node 2: port \+ 2\): port 65536 is above 65535/);
});
