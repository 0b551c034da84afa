import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { keyedPartitioner, murmur2, requestsOf, stickyPartitions, unacknowledged } from '../../../pipeline/bus/kafkajs.js';
import type { OutgoingRecord } from '../../../pipeline/bus/types.js';

const partitions = (n: number) => Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));

test("keyedPartitioner picks kafkajs's DefaultPartitioner partition for every key, length and partition count", () => {
  const reference = kafkajs.Partitioners.DefaultPartitioner();
  const ours = keyedPartitioner();
  const keys: (string | Buffer)[] = ['', 'a', 'ab', 'abc', 'abcd', 'host-1:/var/log/accounting.log', 'é✓ unicode key'];
  for (let i = 0; i < 300; i += 1) keys.push(randomBytes(i % 41), randomBytes(1 + (i % 17)).toString('hex'));
  for (const count of [1, 2, 3, 7, 12]) {
    for (const key of keys) {
      const args = { topic: 't', partitionMetadata: partitions(count), message: { key, value: 'v' } };
      assert.equal(ours(args), reference(args), `key ${JSON.stringify(key.toString())} over ${count} partitions`);
      assert.equal(ours(args), reference(args), 'the remembered key gives the same answer');
    }
  }
  assert.equal(ours({ topic: 't', partitionMetadata: partitions(4), message: { key: 'k', value: 'v', partition: 3 } }), 3, 'an explicit partition wins');
  const unkeyed = new Set(Array.from({ length: 20 }, () => ours({ topic: 't', partitionMetadata: partitions(2), message: { key: null, value: 'v' } })));
  assert.deepEqual([...unkeyed].sort(), [0, 1], 'records without a key are spread round robin');
});

test('murmur2 matches the values the Java client gives', () => {
  // org.apache.kafka.common.utils.Utils.murmur2 on these UTF-8 strings
  assert.equal(murmur2(Buffer.from('21')), -973932308);
  assert.equal(murmur2(Buffer.from('foobar')), -790332482);
  assert.equal(murmur2(Buffer.from('a-little-bit-long-string')), -985981536);
  assert.equal(murmur2(Buffer.from('abc')), 479470107);
  assert.equal(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
});

test('requestsOf splits by count and by bytes, keeps the order per topic, and sends a lone oversized record alone', () => {
  const kb = (topic: string, n: number): OutgoingRecord => ({ topic, key: `k${n}`, value: Buffer.alloc(1000, n % 256), headers: { 'tally-schema-fingerprint': 'f'.repeat(64) } });
  const records = Array.from({ length: 2500 }, (_, i) => kb(i % 2 ? 'a' : 'b', i));
  const requests = requestsOf(records, 10_000, 900_000);
  assert.ok(requests.length >= 3, `2.5 MB in ${requests.length} request(s)`);
  const sizes = requests.map((r) => r.flatMap((t) => t.messages).reduce((sum, m) => sum + (m.value as Buffer).length + 100, 0));
  for (const size of sizes) assert.ok(size <= 900_000 + 100 * 1000, `a request of ≈ ${size} bytes`);
  const keysOf = (topic: string) => requests.flatMap((r) => r.filter((t) => t.topic === topic).flatMap((t) => t.messages.map((m) => m.key)));
  assert.deepEqual(keysOf('a'), records.filter((r) => r.topic === 'a').map((r) => r.key));
  assert.deepEqual(keysOf('b'), records.filter((r) => r.topic === 'b').map((r) => r.key));
  assert.equal(requestsOf(records.slice(0, 25), 10, 900_000).length, 3, 'by count: 25 records, 10 per request');
  const big: OutgoingRecord = { topic: 'a', value: 'x'.repeat(2_000_000) };
  const mixed = requestsOf([kb('a', 1), big, kb('a', 2)], 10_000, 900_000);
  assert.deepEqual(mixed.map((r) => r[0]?.messages.length), [1, 1, 1]);
  assert.equal(requestsOf([], 10, 10).length, 0);
});

test('unacknowledged: the records of every partition kafkajs gave no acknowledgement for, per topic (tulios/kafkajs#1303)', () => {
  const m = (partition: number, value: string) => ({ key: null, value, partition });
  const request = [
    { topic: 'a', messages: [m(0, 'a0'), m(1, 'a1'), m(2, 'a2'), m(0, 'a0b')] },
    { topic: 'b', messages: [m(0, 'b0')] },
  ];
  assert.deepEqual(unacknowledged(request, [{ topicName: 'a', partition: 0 }, { topicName: 'a', partition: 1 }, { topicName: 'a', partition: 2 }, { topicName: 'b', partition: 0 }]), []);
  assert.deepEqual(unacknowledged(request, [{ topicName: 'a', partition: 1 }]), [
    { topic: 'a', messages: [m(0, 'a0'), m(2, 'a2'), m(0, 'a0b')] },
    { topic: 'b', messages: [m(0, 'b0')] },
  ]);
  assert.deepEqual(unacknowledged(request, []), request, 'nothing acknowledged: everything again');
});

test('stickyPartitions: a message keeps the partition first chosen for it, whatever the partitioner would say later', () => {
  let next = 0;
  const roundRobin = stickyPartitions(() => next++ % 3);
  const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
  const first = { key: null, value: 'x' } as { key: null; value: string; partition?: number };
  const second = { key: null, value: 'y' } as { key: null; value: string; partition?: number };
  assert.equal(roundRobin({ topic: 't', partitionMetadata, message: first }), 0);
  assert.equal(roundRobin({ topic: 't', partitionMetadata, message: second }), 1);
  assert.equal(roundRobin({ topic: 't', partitionMetadata, message: first }), 0, 'the retry of the same message');
  assert.equal(first.partition, 0);
  assert.equal(roundRobin({ topic: 't', partitionMetadata, message: { key: null, value: 'z', partition: 2 } }), 2, 'an explicit partition wins');
});

test("kafkajs's produce retry waits for every request of its attempt: a request still in flight is never sent again (patches/kafkajs+2.2.4.patch)", async () => {
  const require = createRequire(import.meta.url);
  const createSendMessages = require('kafkajs/src/producer/sendMessages.js');
  const createRetry = require('kafkajs/src/retry/index.js');
  const { KafkaJSProtocolError } = require('kafkajs/src/errors.js');
  const { createErrorFromCode } = require('kafkajs/src/protocol/error.js');
  const produced: number[] = [];
  let failFirst = true;
  const answer = (partition: number) => ({ topics: [{ topicName: 't', partitions: [{ partition, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' }] }] });
  // broker 1 leads partition 0 and refuses the first request at once (NOT_LEADER_FOR_PARTITION); broker 2 leads partition 1 and answers after 150 ms
  const brokers = new Map([1, 2].map((nodeId) => [nodeId, {
    nodeId,
    produce: async () => {
      produced.push(nodeId);
      if (nodeId === 1 && failFirst) {
        failFirst = false;
        throw new KafkaJSProtocolError(createErrorFromCode(6));
      }
      if (nodeId === 2) await new Promise((resolve) => setTimeout(resolve, 150));
      return answer(nodeId - 1);
    },
  }]));
  const locks = new Map<number, Promise<void>>();
  const releases = new Map<number, () => void>();
  const sequences = new Map<string, number>();
  const sendMessages = createSendMessages({
    logger: { debug() {}, error() {}, info() {}, warn() {} },
    partitioner: ({ message }: { message: { partition: number } }) => message.partition,
    retrier: createRetry({ retries: 3, initialRetryTime: 10, maxRetryTime: 20 }),
    cluster: {
      refreshMetadataIfNecessary: async () => undefined,
      refreshMetadata: async () => undefined,
      addMultipleTargetTopics: async () => undefined,
      isConnected: () => true,
      removeBroker: () => undefined,
      findTopicPartitionMetadata: () => [{ partitionId: 0, leader: 1 }, { partitionId: 1, leader: 2 }],
      findLeaderForPartitions: (_topic: string, partitions: string[]) => Object.fromEntries([1, 2].map((leader) => [leader, partitions.filter((p) => Number(p) === leader - 1)]).filter(([, list]) => (list as string[]).length)),
      findBroker: async ({ nodeId }: { nodeId: string }) => brokers.get(Number(nodeId)),
    },
    eosManager: {
      isTransactional: () => false,
      getTransactionalId: () => undefined,
      getProducerId: () => 7,
      getProducerEpoch: () => 0,
      getSequence: (topic: string, partition: number) => sequences.get(`${topic}/${partition}`) ?? 0,
      updateSequence: (topic: string, partition: number, n: number) => sequences.set(`${topic}/${partition}`, (sequences.get(`${topic}/${partition}`) ?? 0) + n),
      acquireBrokerLock: async ({ nodeId }: { nodeId: number }) => {
        while (locks.has(nodeId)) await locks.get(nodeId);
        locks.set(nodeId, new Promise<void>((resolve) => releases.set(nodeId, resolve)));
      },
      releaseBrokerLock: ({ nodeId }: { nodeId: number }) => {
        locks.delete(nodeId);
        releases.get(nodeId)?.();
      },
    },
  });
  const acknowledged = await sendMessages({ acks: -1, timeout: 1000, topicMessages: [{ topic: 't', messages: [{ key: 'a', value: 'a', partition: 0 }, { key: 'b', value: 'b', partition: 1 }] }] });
  assert.deepEqual(produced.filter((n) => n === 2), [2], 'broker 2 got its records once, although the retry began while its request was in flight');
  assert.deepEqual(produced.filter((n) => n === 1), [1, 1], 'broker 1 was asked again');
  assert.deepEqual(acknowledged.map((a: { partition: number }) => a.partition).sort(), [0, 1]);
  assert.equal(sequences.get('t/1'), 1, 'the sequence of partition 1 moved once');
});

test('the patched kafkajs CRC-32C (slicing by 8) is the Castagnoli checksum for every length and alignment', () => {
  const require = createRequire(import.meta.url);
  const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (buffer: Buffer) => number;
  // bit by bit, straight from the reflected polynomial
  const reference = (buffer: Buffer): number => {
    let crc = ~0;
    for (const byte of buffer) {
      crc ^= byte;
      for (let k = 0; k < 8; k += 1) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return ~crc >>> 0;
  };
  assert.equal(crc32C(Buffer.from('123456789')), 0xe3069283, 'the standard check value');
  const data = randomBytes(5000);
  for (let length = 0; length <= 70; length += 1) {
    for (const from of [0, 1, 3, 7]) assert.equal(crc32C(data.subarray(from, from + length)), reference(data.subarray(from, from + length)), `${length} bytes from ${from}`);
  }
  assert.equal(crc32C(data), reference(data));
});

test('the patched kafkajs groupMessagesPerPartition keeps every message, in order, under the partition it was given', () => {
  const require = createRequire(import.meta.url);
  const group = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (args: { topic: string; partitionMetadata: unknown[]; messages: { value: string }[]; partitioner: (args: { message: { value: string } }) => number }) => Record<number, { value: string }[]>;
  const messages = Array.from({ length: 5000 }, (_, i) => ({ value: String(i) }));
  const grouped = group({ topic: 't', partitionMetadata: partitions(3), messages, partitioner: ({ message }) => Number(message.value) % 3 });
  assert.deepEqual(Object.keys(grouped).sort(), ['0', '1', '2']);
  for (const p of [0, 1, 2]) assert.deepEqual(grouped[p], messages.filter((_, i) => i % 3 === p));
  assert.deepEqual(group({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 }), {});
});
