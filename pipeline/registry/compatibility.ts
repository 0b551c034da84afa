import avro from 'avsc';

/** One reason a reader cannot read what a writer wrote: the field and the rule broken. */
export interface CompatibilityProblem {
  /** dotted path of the field, e.g. tally.accounting.Usage.duration */
  field: string;
  rule: 'new-field-without-default' | 'type-change' | 'schema-change';
  message: string;
}

export type Direction = 'backward' | 'forward';

interface RecordSchema {
  type: 'record';
  name: string;
  namespace?: string;
  fields: { name: string; type: avro.Schema; default?: unknown; aliases?: string[] }[];
}

const isRecord = (schema: unknown): schema is RecordSchema => typeof schema === 'object' && schema !== null && (schema as { type?: unknown }).type === 'record';
const fullName = (schema: RecordSchema): string => (schema.name.includes('.') || !schema.namespace ? schema.name : `${schema.namespace}.${schema.name}`);
const describe = (schema: avro.Schema): string => (typeof schema === 'string' ? schema : Array.isArray(schema) ? `union [${schema.map(describe).join(', ')}]` : isRecord(schema) ? fullName(schema) : String((schema as { type?: unknown }).type));

/**
 * Whether data written with `writer` can be read with `reader` (Avro schema resolution), and if not,
 * which fields break which rule. Fields are compared one by one so that each problem names its
 * field; anything else falls back to avsc's own resolver and its message.
 */
export function readProblems(reader: avro.Schema, writer: avro.Schema, path = ''): CompatibilityProblem[] {
  if (isRecord(reader) && isRecord(writer)) {
    const problems: CompatibilityProblem[] = [];
    const base = path || fullName(reader);
    for (const field of reader.fields) {
      const names = [field.name, ...(field.aliases ?? [])];
      const written = writer.fields.find((w) => names.includes(w.name));
      const where = `${base}.${field.name}`;
      if (!written) {
        if (field.default === undefined) problems.push({ field: where, rule: 'new-field-without-default', message: `${where} is not in the writer's schema and has no default, so records written without it cannot be read` });
        continue;
      }
      problems.push(...readProblems(field.type, written.type, where));
    }
    return problems;
  }
  try {
    avro.Type.forSchema(reader).createResolver(avro.Type.forSchema(writer));
    return [];
  } catch (error) {
    return [{ field: path || describe(reader), rule: path ? 'type-change' : 'schema-change', message: `${path || describe(reader)}: ${describe(writer)} as written cannot be read as ${describe(reader)} (${(error as Error).message})` }];
  }
}

/**
 * FULL_TRANSITIVE, the level Tally's subjects get: the new schema reads what every earlier version
 * wrote (backward: a sink upgraded first reads the records still in the topic) and every earlier
 * version reads what the new one writes (forward: a sink not upgraded yet reads the new records).
 */
export function fullTransitiveProblems(next: avro.Schema, earlier: avro.Schema[]): (CompatibilityProblem & { direction: Direction; version: number })[] {
  return earlier.flatMap((previous, version) => [
    ...readProblems(next, previous).map((p) => ({ ...p, direction: 'backward' as const, version: version + 1 })),
    ...readProblems(previous, next).map((p) => ({ ...p, direction: 'forward' as const, version: version + 1 })),
  ]);
}
