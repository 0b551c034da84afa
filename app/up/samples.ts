import path from 'node:path';
import { projectRoot } from '../../pipeline/paths.js';

/** The bundled samples `tally up` moves through the pipeline: the test fixtures, so the demo shows what the tests prove. */
export const samplesDir = path.join(projectRoot, 'test/fixtures');

export function samplePath(kind: string, file: string): string {
  return path.join(samplesDir, kind, file);
}
