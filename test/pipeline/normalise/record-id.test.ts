import { test } from 'node:test';
import assert from 'node:assert/strict';
import { businessKeyId, businessRecordId, lineRecordId } from '../../../pipeline/normalise/common/record-id.js';
import type { RawEnvelope } from '../../../pipeline/envelope.js';

const envelope = (log: { offset?: number; file: Record<string, unknown> }, host?: string): RawEnvelope => ({ '@timestamp': 'x', message: 'm', log, ...(host ? { host: { name: host } } : {}) });

// ids are stored (Elasticsearch _id, APEL keys): these are the ids the first releases wrote
test('line ids: file coordinates with device and inode, with the path only, or the message alone', () => {
  assert.equal(lineRecordId(envelope({ offset: 812, file: { path: '/var/log/x.json', device_id: '66305', inode: 1234 } }, 'h1'), '  {"a":1}  '), '5babf161f91c241c546c9f978ad49490');
  assert.equal(lineRecordId(envelope({ offset: 0, file: { path: '/var/log/x.json' } }), 'line'), '39d0ec095f8a51d64d274f54beadbe67');
  assert.equal(lineRecordId(envelope({ file: { path: '/p' } }), 'line'), 'a6625d732c8d42a570f654a15892783b');
});

test('business ids: a scope written length-prefixed (audit), a topic written as it is (cloud)', () => {
  assert.equal(businessRecordId('openstack-audit', 'req-1', 'é|x'), '977759ec8ab52a3d2f5eb9e55fdda0de');
  assert.equal(businessRecordId('s'), 'daf59918c0d3a784685385e19caef4ac');
  assert.equal(businessKeyId('cloud.vm', ['SITE', 'svc', null, 3, undefined, 'é:|']), 'c09a958c134d5e13fe4c49ea162f52e6');
  assert.equal(businessKeyId('cloud.ip', []), '68a3e3b64d6ac9bd7e7d540acc65d807');
});
