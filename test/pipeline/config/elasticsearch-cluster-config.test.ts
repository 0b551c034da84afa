import { test } from 'node:test';
import assert from 'node:assert/strict';
import { esUrls } from '../../../pipeline/elasticsearch/nodes.js';
import { esNodes } from '../../../pipeline/services/elasticsearch-topology.js';
import { isLocal } from '../../../pipeline/services/index.js';
import { loadWith, rejectedConfig } from '../../support/config-rules.js';

test('one Elasticsearch node by default: the same URL and ports as before clusters existed', () => {
  const config = loadWith();
  assert.equal(config.services.elasticsearch.nodes, 1);
  assert.equal(config.elasticsearch.url, 'http://127.0.0.1:19200');
  assert.deepEqual(esNodes(config.services.elasticsearch), [{ nodeId: 1, name: 'tally-es', httpPort: 19200, transportPort: 19300 }]);
  assert.equal(isLocal(config, 'elasticsearch'), true);
});

test('two nodes: both in the default elasticsearch.url, ports 2 apart, named tally-es-<n>', () => {
  const config = loadWith('services.elasticsearch.nodes=2');
  assert.equal(config.elasticsearch.url, 'http://127.0.0.1:19200,http://127.0.0.1:19202');
  assert.deepEqual(
    esNodes(config.services.elasticsearch).map((n) => [n.nodeId, n.name, n.httpPort, n.transportPort]),
    [
      [1, 'tally-es-1', 19200, 19300],
      [2, 'tally-es-2', 19202, 19302],
    ],
  );
  assert.equal(isLocal(config, 'elasticsearch'), true);
  assert.equal(isLocal(loadWith('services.elasticsearch.nodes=2', 'elasticsearch.url=http://127.0.0.1:19202/'), 'elasticsearch'), true, 'one local node is still the local Elasticsearch');
  assert.equal(isLocal(loadWith('services.elasticsearch.nodes=2', 'elasticsearch.url=http://127.0.0.1:19200,https://es.example.org:9200'), 'elasticsearch'), false);
});

test('elasticsearch.url takes a comma-separated list of node URLs, and nothing else', () => {
  assert.deepEqual(esUrls('https://a:9200/, https://b:9200'), ['https://a:9200', 'https://b:9200']);
  assert.match(rejectedConfig(['elasticsearch.url=http://a:9200,b:9200']).message, /elasticsearch\.url/);
  assert.match(rejectedConfig(['elasticsearch.url=es.example.org:9200']).message, /elasticsearch\.url/);
});

test('impossible Elasticsearch cluster settings are CONFIG_INVALID naming the key', () => {
  assert.match(rejectedConfig(['services.elasticsearch.nodes=0']).message, /services\.elasticsearch\.nodes: must be >= 1/);
  assert.match(rejectedConfig(['services.elasticsearch.nodes=6']).message, /services\.elasticsearch\.nodes: must be <= 5/);
  assert.match(rejectedConfig(['services.elasticsearch.nodes=2', 'services.elasticsearch.transportPort=19202']).message, /services\.elasticsearch\.httpPort \(node 2: httpPort \+ 2\): port 19202 is also services\.elasticsearch\.transportPort \(node 1: transportPort \+ 0\)/);
  assert.match(rejectedConfig(['services.elasticsearch.nodes=3', 'services.kafka.port=19204']).message, /services\.kafka\.port \(node 1: port \+ 0\): port 19204 is also services\.elasticsearch\.httpPort \(node 3: httpPort \+ 4\)/);
});
