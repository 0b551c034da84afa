import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OwnedProcess } from './process.js';

export interface KafkaState extends OwnedProcess {
  version: string;
  bootstrap: string;
  port: number;
  controllerPort: number;
  clusterId: string;
  dataDir: string;
  configFile: string;
  logFile: string;
  startedAt: string;
  /** stopped with keepData: the next start reuses dataDir */
  kept?: boolean;
}

export interface ElasticsearchState extends OwnedProcess {
  version: string;
  url: string;
  httpPort: number;
  transportPort: number;
  home: string;
  dataDir: string;
  confDir: string;
  logFile: string;
  user: string | undefined;
  startedAt: string;
  kept?: boolean;
}

export interface ServicesState {
  kafka?: KafkaState;
  elasticsearch?: ElasticsearchState;
}

export function readState(file: string): ServicesState {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ServicesState;
  } catch {
    return {};
  }
}

export function writeState(file: string, state: ServicesState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, file);
}
