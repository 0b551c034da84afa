import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TallyError, messageOf } from '../errors.js';
import { projectRoot } from '../paths.js';

export const savedObjectsDir = path.join(projectRoot, 'schemas/kibana');
/** The index prefix the shipped NDJSON files are written for; data view titles are rewritten for another. */
export const shippedIndexPrefix = 'tally-';

export interface SavedObjectLine {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references: { id: string; name: string; type: string }[];
  [field: string]: unknown;
}

/** schemas/kibana/<name>.ndjson, its data views pointed at the configured index prefix. */
export function savedObjectsFile(name: string, indexPrefix: string): { fileName: string; ndjson: string; objects: SavedObjectLine[] } {
  const fileName = `${name}.ndjson`;
  const objects = parseNdjson(readFileSync(path.join(savedObjectsDir, fileName), 'utf8'));
  for (const object of objects) {
    const title = object.attributes.title;
    if (object.type === 'index-pattern' && typeof title === 'string' && title.startsWith(shippedIndexPrefix)) {
      object.attributes.title = `${indexPrefix}${title.slice(shippedIndexPrefix.length)}`;
    }
  }
  return { fileName, ndjson: `${objects.map((o) => JSON.stringify(o)).join('\n')}\n`, objects };
}

export function parseNdjson(text: string): SavedObjectLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as SavedObjectLine)
    .filter((object) => object.exportedCount === undefined);
}

export interface KibanaImport {
  successCount: number;
  imported: { type: string; id: string; title?: string }[];
}

interface ImportResponse {
  success?: boolean;
  successCount?: number;
  successResults?: { type: string; id: string; meta?: { title?: string } }[];
  errors?: { type: string; id: string; title?: string; error?: { type?: string; references?: { type: string; id: string }[] } }[];
}

/**
 * POST <kibana>[/s/<space>]/api/saved_objects/_import?overwrite=true, the NDJSON as the multipart
 * field `file` (Kibana refuses a file name that does not end in .ndjson), with kbn-xsrf. Kibana
 * creates nothing unless every object can be imported, so `success: false` is a failure.
 */
export async function importSavedObjects(options: {
  kibanaUrl: string;
  ndjson: string;
  fileName: string;
  space?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}): Promise<KibanaImport> {
  const base = options.kibanaUrl.replace(/\/+$/, '');
  const url = `${base}${options.space ? `/s/${encodeURIComponent(options.space)}` : ''}/api/saved_objects/_import?overwrite=true`;
  const form = new FormData();
  form.append('file', new Blob([options.ndjson], { type: 'application/ndjson' }), options.fileName);
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'kbn-xsrf': 'tally', ...options.headers }, body: form, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
  } catch (error) {
    throw new TallyError('ES_RETRIABLE', `Kibana at ${base} is unreachable: ${messageOf((error as { cause?: unknown }).cause ?? error)}`, { cause: error });
  }
  const text = await response.text();
  if (!response.ok) {
    throw new TallyError(response.status >= 500 ? 'ES_RETRIABLE' : 'ES_PERMANENT', `Kibana refused the saved objects import of ${options.fileName} (${response.status}): ${text.slice(0, 500)}`);
  }
  let body: ImportResponse;
  try {
    body = JSON.parse(text) as ImportResponse;
  } catch {
    throw new TallyError('ES_PERMANENT', `Kibana's import answer is not JSON: ${text.slice(0, 200)}`);
  }
  if (body.success !== true) {
    const problems = (body.errors ?? []).map((e) => `${e.type} ${e.id}: ${e.error?.type ?? 'error'}${e.error?.references?.length ? ` (${e.error.references.map((r) => `${r.type} ${r.id}`).join(', ')})` : ''}`);
    throw new TallyError('ES_PERMANENT', `Kibana imported nothing from ${options.fileName}: ${problems.join('; ') || 'no reason given'}`, { details: { errors: body.errors ?? [] } });
  }
  return {
    successCount: body.successCount ?? 0,
    imported: (body.successResults ?? []).map((r) => ({ type: r.type, id: r.id, ...(r.meta?.title ? { title: r.meta.title } : {}) })),
  };
}
