import type { ErrorObject } from 'ajv';

/** One JSON Schema error in words that name the key and the rule: `beats.tls.caFiles: is required (rule: required)`. */
export function describeSchemaError(error: ErrorObject, origin = ''): string {
  const path = [origin, ...error.instancePath.split('/').slice(1)].filter(Boolean).join('.');
  const at = path || '(top level)';
  const child = (key: unknown): string => (path ? `${path}.${String(key)}` : String(key));
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${child(params.additionalProperty)}: unknown key (rule: additionalProperties)`;
    case 'required':
      return `${child(params.missingProperty)}: is required (rule: required)`;
    case 'enum':
      return `${at}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (rule: enum)`;
    case 'dependencies':
      return `${child(params.missingProperty)}: is required when ${child(params.property)} is set (rule: dependencies)`;
    case 'type':
      return `${at}: must be ${String(params.type)} (rule: type)`;
    default:
      return `${at}: ${error.message ?? 'is invalid'} (rule: ${error.keyword})`;
  }
}
