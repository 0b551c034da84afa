import { readFileSync } from 'node:fs';
import path from 'node:path';
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

export interface SavedObjectsFile {
  fileName: string;
  ndjson: string;
  objects: SavedObjectLine[];
}

/** schemas/kibana/<name>.ndjson, its data views pointed at the configured index prefix. */
export function savedObjectsFile(name: string, indexPrefix: string): SavedObjectsFile {
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
