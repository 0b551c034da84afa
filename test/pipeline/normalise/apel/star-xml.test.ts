import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStarXml, starNamespace } from '../../../../pipeline/normalise/apel/star-xml.js';
import type { ParsedMessage } from '../../../../pipeline/normalise/apel/types.js';

function parsed(text: string): ParsedMessage {
  const outcome = parseStarXml(text);
  assert.ok(outcome.message, outcome.problem?.message);
  return outcome.message;
}

const identity = '<sr:RecordIdentity sr:createTime="2016-09-08T12:16:10Z" sr:recordId="0715"/>';
const body = `${identity}<sr:StorageSystem>test-sys.ac.uk</sr:StorageSystem><sr:StartTime>2016-09-07T12:16:10Z</sr:StartTime><sr:EndTime>2016-09-08T12:16:10Z</sr:EndTime><sr:ResourceCapacityUsed>6000437876</sr:ResourceCapacityUsed>`;
const wrapped = (records: string) => `<sr:StorageUsageRecords xmlns:sr="${starNamespace}">${records}</sr:StorageUsageRecords>`;

describe('StAR XML', () => {
  test('fields from the first element of each name; attributes namespace-qualified; integers as numbers', () => {
    const [part] = parsed(wrapped(`<sr:StorageUsageRecord>${body}<sr:FileCount> 8 </sr:FileCount></sr:StorageUsageRecord>`)).parts;
    assert.deepEqual(part?.fields, {
      RecordId: '0715',
      CreateTime: '2016-09-08T12:16:10Z',
      StorageSystem: 'test-sys.ac.uk',
      StartTime: '2016-09-07T12:16:10Z',
      EndTime: '2016-09-08T12:16:10Z',
      FileCount: 8,
      ResourceCapacityUsed: 6000437876,
    });
    assert.deepEqual(part?.problems, []);
  });

  test('any prefix, or a default namespace, for elements', () => {
    const other = parsed(`<x:StorageUsageRecord xmlns:x="${starNamespace}">${body.replaceAll('sr:', 'x:')}</x:StorageUsageRecord>`);
    assert.equal(other.parts[0]?.fields?.RecordId, '0715');
    const defaulted = parsed(`<StorageUsageRecord xmlns="${starNamespace}" xmlns:sr="${starNamespace}">${body.replace(/<(\/?)sr:/g, '<$1')}</StorageUsageRecord>`);
    assert.equal(defaulted.parts[0]?.fields?.StorageSystem, 'test-sys.ac.uk');
    assert.equal(defaulted.parts[0]?.fields?.RecordId, '0715');
  });

  test('an unqualified attribute is a problem that says how to write it (APEL reads it as empty)', () => {
    const [part] = parsed(wrapped(`<sr:StorageUsageRecord>${body.replace('sr:recordId', 'recordId')}</sr:StorageUsageRecord>`)).parts;
    assert.equal(part?.fields?.RecordId, undefined);
    assert.equal(part?.problems[0]?.rule, 'attribute-namespace');
    assert.match(part?.problems[0]?.message ?? '', /has the attribute `recordId` without the StAR namespace: write it `sr:recordId`/);
  });

  test('group attributes: the first subgroup and role, the others in order', () => {
    const subject = '<sr:SubjectIdentity><sr:Group>atlas</sr:Group><sr:GroupAttribute sr:attributeType="subgroup">uk</sr:GroupAttribute><sr:GroupAttribute sr:attributeType="role">poweruser1</sr:GroupAttribute><sr:GroupAttribute sr:attributeType="authority">/CN=voms</sr:GroupAttribute><sr:GroupAttribute sr:attributeType="role">second</sr:GroupAttribute><sr:Site>EXAMPLE</sr:Site></sr:SubjectIdentity>';
    const [part] = parsed(wrapped(`<sr:StorageUsageRecord>${body}${subject}</sr:StorageUsageRecord>`)).parts;
    assert.equal(part?.fields?.Group, 'atlas');
    assert.equal(part?.fields?.SubGroup, 'uk');
    assert.equal(part?.fields?.Role, 'poweruser1');
    assert.equal(part?.fields?.Site, 'EXAMPLE');
    assert.deepEqual(part?.fields?.GroupAttributes, [
      { AttributeType: 'authority', Value: '/CN=voms' },
      { AttributeType: 'role', Value: 'second' },
    ]);
  });

  test('text is kept as written (a record id with a leading space), entities and character references decoded, CDATA read', () => {
    const xml = wrapped(`<sr:StorageUsageRecord><sr:RecordIdentity sr:createTime="2019-08-06T06:46:11" sr:recordId=" rad_tape"/><sr:StorageSystem>S&amp;T <![CDATA[<x>]]></sr:StorageSystem><sr:Group>vo/&#233;&amp;&lt;"x"&gt;</sr:Group></sr:StorageUsageRecord>`);
    const [part] = parsed(xml).parts;
    assert.equal(part?.fields?.RecordId, ' rad_tape');
    assert.equal(part?.fields?.StorageSystem, 'S&T <x>');
    assert.equal(part?.fields?.Group, 'vo/é&<"x">');
  });

  test('unknown elements are read over; elements of another namespace are not StAR fields', () => {
    const [part] = parsed(wrapped(`<sr:StorageUsageRecord xmlns:o="urn:other">${body}<sr:Foo>1</sr:Foo><o:Site>no</o:Site></sr:StorageUsageRecord>`)).parts;
    assert.equal(part?.fields?.Site, undefined);
    assert.equal(part?.fields?.Foo, undefined);
  });

  test('each record\'s original is a one-record StAR message that parses to the same fields', () => {
    const message = parsed(`<?xml version="1.0"?>\n${wrapped(`\n  <sr:StorageUsageRecord>${body}</sr:StorageUsageRecord>\n  <sr:StorageUsageRecord>${body.replace('0715', '0716')}</sr:StorageUsageRecord>\n`)}`);
    assert.equal(message.parts.length, 2);
    assert.deepEqual(message.parts.map((p) => p.at), ['line 3', 'line 4']);
    for (const part of message.parts) {
      assert.match(part.original, /^<sr:StorageUsageRecords xmlns:sr="[^"]+"><sr:StorageUsageRecord>.*<\/sr:StorageUsageRecord><\/sr:StorageUsageRecords>$/);
      assert.deepEqual(parsed(part.original).parts[0]?.fields, part.fields);
    }
  });

  test('a single record as the root is its own original', () => {
    const xml = `<sr:StorageUsageRecord xmlns:sr="${starNamespace}">${body}</sr:StorageUsageRecord>`;
    assert.equal(parsed(xml).parts[0]?.original, xml);
  });

  test('a comment before the root is fine (APEL refuses it)', () => {
    assert.equal(parsed(`<!-- c -->${wrapped(`<sr:StorageUsageRecord>${body}</sr:StorageUsageRecord>`)}`).parts.length, 1);
  });

  test('whole-message problems: not well-formed, another namespace, no records', () => {
    assert.match(parseStarXml(`${wrapped(`<sr:StorageUsageRecord>${body}`)}`).problem?.message ?? '', /^the message is not well-formed XML: /);
    assert.match(parseStarXml('<StorageUsageRecords/>').problem?.message ?? '', /is in no namespace: a StAR message's elements are in/);
    assert.match(parseStarXml('<a:X xmlns:a="urn:x"/>').problem?.message ?? '', /in the namespace urn:x/);
    assert.equal(parseStarXml(wrapped('<sr:StorageRecord/>')).problem?.rule, 'no-records');
  });

  test('an external entity is not fetched or expanded', () => {
    const xml = `<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>${wrapped(`<sr:StorageUsageRecord>${body}<sr:Site>&e;</sr:Site></sr:StorageUsageRecord>`)}`;
    const outcome = parseStarXml(xml);
    assert.ok(outcome.problem !== undefined || outcome.message.parts[0]?.fields?.Site === undefined);
    assert.doesNotMatch(JSON.stringify(outcome), /root:/);
  });

  test('offsets count astral characters right', () => {
    const xml = wrapped(`<sr:StorageUsageRecord>${body}<sr:Site>😀</sr:Site></sr:StorageUsageRecord><sr:StorageUsageRecord>${body}</sr:StorageUsageRecord>`);
    const [first, second] = parsed(xml).parts;
    assert.equal(first?.fields?.Site, '😀');
    assert.deepEqual(parsed(first?.original as string).parts[0]?.fields, first?.fields);
    assert.deepEqual(parsed(second?.original as string).parts[0]?.fields, second?.fields);
  });
});
