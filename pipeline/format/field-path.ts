/** A normalised event as JSON: what `tally convert` prints and Elasticsearch stores (nulls left out). */
export type EventDocument = Record<string, unknown>;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The value at a dotted path (`log.level`, `details.vm.flavor`), or undefined. A map key may hold
 * dots itself (audit.events details), so at each object the longest key that matches the rest of
 * the path wins: `details.a.b` reads details["a.b"] before details.a.b.
 */
export function valueAt(document: unknown, path: string): unknown {
  return lookup(document, path.split('.'));
}

function lookup(node: unknown, parts: string[]): unknown {
  if (parts.length === 0) return node;
  if (!isObject(node)) return undefined;
  for (let take = parts.length; take >= 1; take -= 1) {
    const key = parts.slice(0, take).join('.');
    if (Object.hasOwn(node, key)) {
      const found = lookup(node[key], parts.slice(take));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The value as one piece of text: arrays joined with commas, objects as compact JSON; null, undefined, '' and [] have none. */
export function textOf(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map((v) => textOf(v) ?? '').join(',');
  if (isObject(value)) return Object.keys(value).length === 0 ? undefined : JSON.stringify(value);
  return String(value);
}

/** Which normalised model a document is: ops.logs has log.level, audit.events has event.action. */
export function modelOf(document: EventDocument): 'ops' | 'audit' | undefined {
  if (typeof valueAt(document, 'log.level') === 'string') return 'ops';
  if (typeof valueAt(document, 'event.action') === 'string') return 'audit';
  return undefined;
}

export { isObject };
