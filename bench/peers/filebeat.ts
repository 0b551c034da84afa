import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { startChild, type MeasuredChild } from '../child.js';
import { chownTree } from '../files.js';
import type { PeerTool } from './installed.js';

export interface FilebeatRun {
  dir: string;
  logFile: string;
  user: { uid: number; gid: number };
  /** the accounting file, read from its start with the `log` input (7.17) */
  file: string;
}

/** Filebeat 7.17 in the foreground (-e) with only its own configuration and registry in `dir`. */
function startFilebeat(tool: PeerTool, run: FilebeatRun, output: Record<string, unknown>): MeasuredChild {
  mkdirSync(path.join(run.dir, 'data'), { recursive: true });
  // Filebeat writes its registry and meta file under data/ as the unprivileged user it runs as
  chownTree(run.dir, run.user);
  const config = {
    'filebeat.inputs': [{ type: 'log', paths: [run.file], scan_frequency: '1s' }],
    // Filebeat's default memory queue, flushed as soon as a batch is there
    'queue.mem': { events: 4096, 'flush.min_events': 2048, 'flush.timeout': '1s' },
    'setup.template.enabled': false,
    'setup.ilm.enabled': false,
    'logging.level': 'warning',
    'logging.metrics.enabled': false,
    ...output,
  };
  const file = path.join(run.dir, 'filebeat.yml');
  writeFileSync(file, stringify(config), { mode: 0o644 });
  return startChild('filebeat', tool.command, ['-e', '--strict.perms=false', '-c', file, '--path.home', run.dir, '--path.data', path.join(run.dir, 'data'), '--path.logs', path.join(run.dir, 'logs')], { logFile: run.logFile, user: run.user, cwd: run.dir });
}

/** Peer of `tally ship`: the `log` input reads the file from its start, output.kafka produces each event acks=all, uncompressed. */
export function startFilebeatFileToKafka(tool: PeerTool, options: FilebeatRun & { brokers: string[]; topic: string }): MeasuredChild {
  return startFilebeat(tool, options, { 'output.kafka': { hosts: options.brokers, topic: options.topic, required_acks: -1, compression: 'none' } });
}

/** The client of `tally beats`: the same file over output.logstash, as a site runs it (pipelining 2, zlib 3, bulk_max_size 2048). */
export function startFilebeatFileToBeats(tool: PeerTool, options: FilebeatRun & { host: string; port: number }): MeasuredChild {
  return startFilebeat(tool, options, { 'output.logstash': { hosts: [`${options.host}:${options.port}`], pipelining: 2, compression_level: 3, bulk_max_size: 2048 } });
}
