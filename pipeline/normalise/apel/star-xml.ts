import { SaxesParser, type SaxesAttributeNS } from 'saxes';
import { unparsable, type ParseOutcome, type Problem, type RecordPart } from './types.js';

/**
 * EMI StAR storage messages: XML whose root is in the StAR namespace, each
 * `StorageUsageRecord` element (any depth) one record, read the way APEL's StarParser reads them
 * (apel/db/loader/star_parser.py): each field from the first descendant element of that local
 * name in the namespace, whatever its prefix; attributes only when namespace-qualified.
 */

export const starNamespace = 'http://eu-emi.eu/namespaces/2011/02/storagerecord';

/** element local name → field, text kept as written */
const textElements = ['StorageSystem', 'Site', 'StorageShare', 'StorageMedia', 'StorageClass', 'DirectoryPath', 'LocalUser', 'LocalGroup', 'UserIdentity', 'Group'] as const;
const timeElements = ['StartTime', 'EndTime'] as const;
const integerElements = ['FileCount', 'ResourceCapacityUsed', 'ResourceCapacityAllocated', 'LogicalCapacityUsed'] as const;
const integer = /^[+-]?\d+$/;
/** APEL's check_for_null */
const nullValue = /^(?:none|null)?$/i;

interface XmlElement {
  uri: string;
  local: string;
  name: string;
  attributes: Record<string, SaxesAttributeNS>;
  children: XmlElement[];
  /** the element's own text and CDATA children, concatenated */
  text: string;
  /** offsets in the message: the start tag's `<`, just after the start tag, just after the end tag */
  start: number;
  startTagEnd: number;
  end: number;
  line: number;
}

export function parseStarXml(text: string): ParseOutcome {
  const tree = parseXml(text);
  if ('problem' in tree) return unparsable('xml', tree.problem);
  const root = tree.root;
  if (root.uri !== starNamespace) {
    return unparsable(
      'star-namespace',
      `the root element <${root.name}> is ${root.uri === '' ? 'in no namespace' : `in the namespace ${root.uri}`}: a StAR message's elements are in ${starNamespace} (declare xmlns:sr="${starNamespace}" and write <sr:StorageUsageRecords>)`,
    );
  }
  const records: XmlElement[] = [];
  collectRecords(root, records);
  if (records.length === 0) return unparsable('no-records', `the StAR message <${root.name}> holds no StorageUsageRecord element in ${starNamespace}`);
  const rootStartTag = text.slice(root.start, root.startTagEnd);
  const parts = records.map((record, index): RecordPart => {
    const original = record === root ? text : `${rootStartTag}${text.slice(record.start, record.end)}</${root.name}>`;
    return { number: index + 1, at: `line ${record.line}`, original, ...recordFields(record) };
  });
  return { message: { recordType: 'storage', format: 'StAR', parts } };
}

function collectRecords(element: XmlElement, into: XmlElement[]): void {
  if (element.uri === starNamespace && element.local === 'StorageUsageRecord') {
    into.push(element);
    return;
  }
  for (const child of element.children) collectRecords(child, into);
}

function recordFields(record: XmlElement): Pick<RecordPart, 'fields' | 'written' | 'problems'> {
  const first = new Map<string, XmlElement>();
  const groupAttributes: XmlElement[] = [];
  const visit = (element: XmlElement) => {
    for (const child of element.children) {
      if (child.uri === starNamespace) {
        if (!first.has(child.local)) first.set(child.local, child);
        if (child.local === 'GroupAttribute') groupAttributes.push(child);
      }
      visit(child);
    }
  };
  visit(record);
  const fields: Record<string, unknown> = {};
  const written = new Map<string, string>();
  const problems: Problem[] = [];
  const set = (field: string, value: string, typed: unknown) => {
    written.set(field, value);
    if (!nullValue.test(value.trim())) fields[field] = typed;
  };
  const identity = first.get('RecordIdentity');
  if (identity) {
    for (const [attribute, field] of [['recordId', 'RecordId'], ['createTime', 'CreateTime']] as const) {
      const value = namespacedAttribute(identity, attribute, problems);
      if (value !== undefined) set(field, value, field === 'RecordId' ? value : value.trim());
    }
  }
  for (const name of textElements) {
    const element = first.get(name);
    if (element) set(name, element.text, element.text);
  }
  for (const name of timeElements) {
    const element = first.get(name);
    if (element) set(name, element.text, element.text.trim());
  }
  for (const name of integerElements) {
    const element = first.get(name);
    if (element) set(name, element.text, integer.test(element.text.trim()) ? Number(element.text.trim()) : element.text);
  }
  const others: { AttributeType: string; Value: string }[] = [];
  for (const element of groupAttributes) {
    const type = namespacedAttribute(element, 'attributeType', problems);
    if (type === undefined) continue;
    const field = type === 'subgroup' ? 'SubGroup' : type === 'role' ? 'Role' : undefined;
    if (field !== undefined && !written.has(field)) set(field, element.text, element.text);
    else others.push({ AttributeType: type, Value: element.text });
  }
  if (others.length > 0) fields.GroupAttributes = others;
  return { fields, written, problems };
}

/** `sr:name` on the element; an unprefixed `name` is a problem, as APEL reads it as empty. */
function namespacedAttribute(element: XmlElement, local: string, problems: Problem[]): string | undefined {
  let bare: SaxesAttributeNS | undefined;
  for (const key in element.attributes) {
    const attribute = element.attributes[key] as SaxesAttributeNS;
    if (attribute.local !== local) continue;
    if (attribute.uri === starNamespace) return attribute.value;
    if (attribute.uri === '') bare = attribute;
  }
  if (bare) {
    problems.push({
      code: 'RECORD_UNPARSABLE',
      rule: 'attribute-namespace',
      message: `<${element.name}> at line ${element.line} has the attribute \`${bare.name}\` without the StAR namespace: write it \`sr:${local}\` (with xmlns:sr="${starNamespace}"); APEL reads an unqualified one as empty`,
    });
  }
  return undefined;
}

/** StAR nests three or four deep; deeper is refused before it costs quadratic time (namespace scopes) or the stack (the tree walks). */
export const maxXmlDepth = 64;
class TooDeep extends Error {}

/** The element tree of a well-formed document, or the first well-formedness error in words. */
function parseXml(text: string): { root: XmlElement } | { problem: string } {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let error: string | undefined;
  let tagStart = 0;
  let tagLine = 1;
  parser.on('error', (e) => {
    error ??= e.message;
  });
  parser.on('opentagstart', () => {
    tagStart = text.lastIndexOf('<', parser.position - 1);
    tagLine = parser.line;
  });
  parser.on('opentag', (tag) => {
    const element: XmlElement = {
      uri: tag.uri,
      local: tag.local,
      name: tag.name,
      attributes: tag.attributes,
      children: [],
      text: '',
      start: tagStart,
      startTagEnd: parser.position,
      end: parser.position,
      line: tagLine,
    };
    if (stack.length >= maxXmlDepth) throw new TooDeep(`<${tag.name}> at line ${tagLine} is nested more than ${maxXmlDepth} elements deep`);
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root ??= element;
    stack.push(element);
  });
  parser.on('closetag', () => {
    const element = stack.pop();
    if (element) element.end = parser.position;
  });
  const appendText = (chunk: string) => {
    const element = stack[stack.length - 1];
    if (element) element.text += chunk;
  };
  parser.on('text', appendText);
  parser.on('cdata', appendText);
  try {
    parser.write(text).close();
  } catch (thrown) {
    if (thrown instanceof TooDeep) return { problem: `the message is refused: ${thrown.message}` };
    throw thrown;
  }
  if (error !== undefined) return { problem: `the message is not well-formed XML: ${error}` };
  if (root === undefined) return { problem: 'the message holds no XML element' };
  return { root };
}
