import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { childTimesSeconds, sampleTree, type ProcSample } from './proc.js';

export interface ChildOptions {
  /** the child's stdout and stderr go here, for the report's post-mortems */
  logFile: string;
  /** resolves `ready` once stdout or stderr matches; without it the child is ready when spawned */
  readyText?: RegExp;
  readyTimeoutMs?: number;
  /** output that means start-up failed (even if the process lingers) */
  failText?: RegExp;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** run as this user (setpriv), for peers that must not run as root */
  user?: { uid: number; gid: number };
  /** the command is a bash wrapper ending in `times`: its children's CPU is read from that, exactly, once it exits */
  cpuFromTimes?: boolean;
}

/**
 * How long a stage may take to exit after a measured run, before SIGKILL: the measurement is over
 * and every run has its own topics and group, so nothing depends on a graceful drain. A profiled
 * run waits for the graceful exit instead (V8 writes the profile on exit).
 */
export const afterRunGraceMs = 500;

/** Every child still running, so an interrupted benchmark stops what it started (by pid, nothing else). */
export const runningChildren = new Set<MeasuredChild>();

/** A process the benchmark started and measures: its pid, output, /proc samples and stop. */
export class MeasuredChild {
  readonly proc: ChildProcess;
  readonly startedAt = performance.now();
  /** ms from spawn to the ready text */
  readyMs: number | undefined;
  private text = '';
  private readonly log: WriteStream;
  private readonly exited: Promise<number | null>;
  lastSample: ProcSample | undefined;
  /** the highest VmHWM seen in any sample (a tool that exits keeps its peak here) */
  peakRssBytes = 0;

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    private readonly options: ChildOptions,
  ) {
    this.log = createWriteStream(options.logFile);
    // dropping privileges needs root; a benchmark run by a normal user runs its peers as itself
    const user = process.getuid?.() === 0 ? options.user : undefined;
    const [file, argv] = user ? ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', command, ...args]] : [command, args];
    const spawnOptions: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, ...(options.cwd ? { cwd: options.cwd } : {}) };
    this.proc = spawn(file, argv as string[], spawnOptions);
    const take = (chunk: Buffer): void => {
      this.log.write(chunk);
      if (this.text.length < 1_000_000) this.text += chunk.toString('utf8');
    };
    this.proc.stdout?.on('data', take);
    this.proc.stderr?.on('data', take);
    runningChildren.add(this);
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        runningChildren.delete(this);
        resolve(code ?? (signal ? 128 : null));
      }),
    );
    this.proc.once('error', (error) => this.log.write(`spawn error: ${error.message}\n`));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  output(): string {
    return this.text;
  }

  /** Wait for the ready text (or the process's end, which is a failure). */
  async ready(): Promise<number> {
    const pattern = this.options.readyText;
    if (!pattern) return (this.readyMs = 0);
    const timeoutMs = this.options.readyTimeoutMs ?? 60_000;
    const deadline = this.startedAt + timeoutMs;
    while (performance.now() < deadline) {
      if (pattern.test(this.text)) return (this.readyMs ??= performance.now() - this.startedAt);
      if (this.options.failText?.test(this.text)) throw new Error(`${this.label} failed to start: ${this.text.slice(-1500)}`);
      if (!this.running) throw new Error(`${this.label} exited (${this.proc.exitCode ?? this.proc.signalCode}) before it was ready: ${this.text.slice(-1500)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`${this.label} not ready after ${timeoutMs} ms: ${this.text.slice(-1500)}`);
  }

  /** /proc of the process and its descendants (threads included) */
  sample(): ProcSample | undefined {
    const sample = sampleTree(this.pid);
    if (sample) {
      this.lastSample = sample;
      this.peakRssBytes = Math.max(this.peakRssBytes, sample.peakRssBytes);
    }
    return sample;
  }

  /** For a process that ended by itself: its whole CPU time, when known exactly (bash `times`). */
  get exactCpuOnExit(): boolean {
    return this.options.cpuFromTimes === true;
  }

  async finalCpuSeconds(): Promise<number | undefined> {
    if (!this.options.cpuFromTimes) return undefined;
    await this.exited;
    await new Promise((resolve) => setImmediate(resolve));
    return childTimesSeconds(this.text);
  }

  /** SIGTERM (graceful: profiles are written on exit), then SIGKILL after `graceMs`. Returns the exit code. */
  async stop(graceMs = 20_000): Promise<number | null> {
    this.sample();
    if (this.running) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.running && this.proc.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    await this.closeLog();
    return code;
  }

  private async closeLog(): Promise<void> {
    if (this.log.writableEnded) return;
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  /** Wait for the process to end by itself. */
  async exit(timeoutMs: number): Promise<number | null> {
    const timer = setTimeout(() => this.running && this.proc.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    await this.closeLog();
    return code;
  }
}

export function startChild(label: string, command: string, args: string[], options: ChildOptions): MeasuredChild {
  return new MeasuredChild(label, command, args, options);
}
