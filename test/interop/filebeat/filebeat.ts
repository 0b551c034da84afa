import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { eventually, freePort } from '../../support/world.js';

/**
 * The real Filebeat for the interop tests and the benchmark: built once per version by install.sh
 * (cached in .tally/cache), configured with a YAML file of its own, its progress read from its
 * own counters (`http.enabled`, GET /stats).
 */
export const checkout = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const installScript = path.join(checkout, 'test/interop/filebeat/install.sh');

export interface FilebeatVersion {
  /** the module version of github.com/elastic/beats/v7 */
  module: string;
  label: string;
  /** 9.x refuses the `log` input */
  input: 'log' | 'filestream';
}

export const filebeat717: FilebeatVersion = { module: 'v7.17.28', label: '7.17.28', input: 'log' };
/** a main-branch pseudo-version (libbeat 9.3.0): the proxy serves no 8.x/9.x tags for the /v7 path */
export const filebeat9: FilebeatVersion = { module: 'v7.0.0-alpha2.0.20251031181001-be9871f5dab9', label: '9.3 (main, 2025-10-31)', input: 'filestream' };

/** The binary's path, or why it cannot be had here (the Go toolchain or the module proxy missing); other failures throw. */
export function installFilebeat(version: FilebeatVersion): { binary: string } | { skip: string } {
  const result = spawnSync('bash', [installScript, version.module], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 45 * 60_000 });
  if (result.status === 0) return { binary: result.stdout.trim().split('\n').pop() as string };
  const said = result.stderr.trim().split('\n').slice(-3).join(' / ');
  if (result.status === 3) return { skip: `Filebeat ${version.label} cannot be built here: ${said}` };
  throw new Error(`installing Filebeat ${version.label} failed (exit ${result.status ?? result.signal}): ${result.stderr.slice(-3000)}`);
}

export interface InputOptions {
  paths: string[];
  /** NEANIAS's filter, as `tally ship` applies it for accounting by default */
  includeLines?: string[];
  tags?: string[];
}

export interface FilebeatRun {
  proc: ChildProcess;
  dir: string;
  output(): string;
  /** libbeat.output.events.acked and .failed from Filebeat's own /stats */
  counters(): Promise<{ acked: number; failed: number } | undefined>;
  waitForAcked(count: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** `inputs[0]` in the shape this version takes: `log` for 7.x, `filestream` (with an id) for 9.x. */
export function inputSection(version: FilebeatVersion, input: InputOptions, id: string): Record<string, unknown> {
  const common = { paths: input.paths, tags: input.tags ?? ['accounting'], include_lines: input.includeLines ?? ['"[lL]evel"\\s*:\\s*"accounting"'] };
  if (version.input === 'log') return { type: 'log', ...common, scan_frequency: '1s' };
  return { type: 'filestream', id, ...common, 'prospector.scanner.check_interval': '1s' };
}

/** Start Filebeat with `output` (an `output.logstash` or `output.kafka` section) in a folder of its own. */
export async function startFilebeat(binary: string, version: FilebeatVersion, dir: string, input: InputOptions, output: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<FilebeatRun> {
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const httpPort = await freePort();
  const config = {
    'filebeat.inputs': [inputSection(version, input, `tally-${path.basename(dir)}`)],
    // the last partial batch goes out within half a second (9.x would hold it 10 s)
    'queue.mem': { events: 4096, 'flush.min_events': 256, 'flush.timeout': '0.5s' },
    'setup.template.enabled': false,
    'setup.ilm.enabled': false,
    'http.enabled': true,
    'http.host': '127.0.0.1',
    'http.port': httpPort,
    'logging.level': 'info',
    'logging.metrics.enabled': false,
    ...output,
    ...extra,
  };
  const configFile = path.join(dir, 'filebeat.yml');
  writeFileSync(configFile, stringify(config), { mode: 0o600 });
  const proc = spawn(binary, ['-e', '--strict.perms=false', '-c', configFile, '--path.home', dir, '--path.data', path.join(dir, 'data'), '--path.logs', path.join(dir, 'logs')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer): void => {
    out += chunk.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const counters = async (): Promise<{ acked: number; failed: number } | undefined> => {
    try {
      const response = await fetch(`http://127.0.0.1:${httpPort}/stats`, { signal: AbortSignal.timeout(5000) });
      const stats = (await response.json()) as { libbeat?: { output?: { events?: { acked?: number; failed?: number } } } };
      const events = stats.libbeat?.output?.events;
      return { acked: events?.acked ?? 0, failed: events?.failed ?? 0 };
    } catch {
      return undefined;
    }
  };
  return {
    proc,
    dir,
    output: () => out,
    counters,
    async waitForAcked(count, timeoutMs) {
      await eventually(`Filebeat ${version.label} to have ${count} events acknowledged`, timeoutMs, async () => {
        if (proc.exitCode !== null) throw new Error(`Filebeat exited with ${proc.exitCode}: ${out.slice(-3000)}`);
        const c = await counters();
        return c && c.acked >= count ? true : undefined;
      });
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** A NEANIAS accounting line numbered n (the `n` field), with a non-accounting line after every tenth. */
export function accountingLines(run: string, from: number, to: number): string {
  let text = '';
  for (let n = from; n < to; n += 1) {
    text += `${JSON.stringify({ timestamp: '2026-11-01T10:00:00Z', serviceid: 'interop', level: 'accounting', userid: `u${n % 7}`, resource: `job/${n}`, action: 'run', value: n, measure: 'time', run, n })}\n`;
    if (n % 10 === 9) text += `${JSON.stringify({ timestamp: '2026-11-01T10:00:00Z', level: 'info', msg: `not accounting ${n}` })}\n`;
  }
  return text;
}
