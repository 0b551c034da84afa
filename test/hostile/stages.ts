import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../pipeline/paths.js';
import { eventually } from '../support/world.js';

/** The heap every stage runs with in this suite: the issue's `node --max-old-space-size=256`. */
export const heapLimitMb = 256;

/**
 * Peak resident memory a stage may reach: the 256 MB old space, the young generation and code
 * (~64 MB), and the Buffers outside the heap, which the connectors' own limits bound (file-tail reads
 * 1 MiB chunks and keeps 1 KiB of an over-long line; beats holds at most 64 MB of inflated window
 * and maxPendingWindows windows; http bodies are cut at maxBodyBytes; a queue element is read whole,
 * a few MB here). Anything unbounded would blow through it.
 */
export const peakRssBoundMb = 512;

export interface StageProcess {
  name: string;
  proc: ChildProcess;
  output(): string;
  /** peak resident set (VmHWM) so far, in MB */
  peakRssMb(): number;
  alive(): boolean;
  stop(): Promise<void>;
}

/** `bin/tally -c <config> <args>` with the heap capped through NODE_OPTIONS (bin/tally execs node, so the pid is node's). */
export async function startStage(name: string, configFile: string, args: string[], ready: RegExp): Promise<StageProcess> {
  const proc = spawn(path.join(projectRoot, 'bin/tally'), ['-c', configFile, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KAFKA_BROKERS: '', ELASTICSEARCH_URL: '', NODE_OPTIONS: `--max-old-space-size=${heapLimitMb}` },
  });
  let out = '';
  proc.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const early = exited.then(() => {
    throw new Error(`${name} exited before it was ready: ${out.slice(-3000)}`);
  });
  early.catch(() => undefined);
  await Promise.race([eventually(`${name} to be ready`, 90_000, () => (ready.test(out) ? true : undefined)), early]);
  return {
    name,
    proc,
    output: () => out,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    peakRssMb() {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 'NaN');
      return kb / 1024;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 25_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
