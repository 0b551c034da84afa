import path from 'node:path';
import { projectRoot } from '../paths.js';
import type { ServicesConfig } from '../config/types.js';

/** Where downloaded artifacts (kept) and per-run data, logs and pids (thrown away) live. */
export interface ServicesLayout {
  root: string;
  cacheDir: string;
  runDir: string;
  stateFile: string;
}

export function servicesLayout(config: ServicesConfig): ServicesLayout {
  const root = path.resolve(projectRoot, config.dir);
  return {
    root,
    cacheDir: path.join(root, 'cache'),
    runDir: path.join(root, 'run'),
    stateFile: path.join(root, 'run', 'services.json'),
  };
}
