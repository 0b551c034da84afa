import { spawn, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process Tally started: the pid plus its kernel start time, so a reused pid is never mistaken for ours. */
export interface OwnedProcess {
  pid: number;
  startTicks: string;
}

export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22 (starttime) counted after the parenthesised command name, which may hold spaces
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

export function isAlive(owned: OwnedProcess | undefined): boolean {
  if (!owned) return false;
  const ticks = processStartTicks(owned.pid);
  if (ticks === undefined || ticks !== owned.startTicks) return false;
  try {
    const state = readFileSync(`/proc/${owned.pid}/stat`, 'utf8');
    return !/\) Z /.test(state);
  } catch {
    return false;
  }
}

/** A local service of one process, or a cluster whose `nodes` are its processes (the top level stands for node 1). */
export interface OwnedService extends OwnedProcess {
  nodes?: OwnedProcess[];
  /** stopped with keepData: the next start reuses its data */
  kept?: boolean;
}

/** How many processes of a local service run: none, some (a cluster missing nodes) or all. */
export function serviceLiveness(state: OwnedService | undefined): 'none' | 'some' | 'all' {
  if (!state) return 'none';
  const alive = (state.nodes ?? [state]).map((owned) => isAlive(owned));
  return alive.every(Boolean) ? 'all' : alive.some(Boolean) ? 'some' : 'none';
}

/** A start resumes on the data of a service stopped with keepData, or of a cluster of which some nodes still run. */
export function resumableService<S extends OwnedService>(state: S | undefined): S | undefined {
  return state && (state.kept || serviceLiveness(state) === 'some') ? state : undefined;
}

/** Start a long-lived server detached from this process, its output appended to a log file. */
export function spawnDetached(command: string, args: string[], options: SpawnOptions & { logFile: string }): OwnedProcess {
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', log, log] });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    const startTicks = processStartTicks(child.pid) ?? '';
    return { pid: child.pid, startTicks };
  } finally {
    closeSync(log);
  }
}

/** SIGTERM the process group, wait, then SIGKILL what is left. Resolves when it is gone. */
export async function stopProcess(owned: OwnedProcess, graceMs: number): Promise<void> {
  if (!isAlive(owned)) return;
  signalGroup(owned.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(owned) && Date.now() < deadline) await sleep(100);
  if (isAlive(owned)) {
    signalGroup(owned.pid, 'SIGKILL');
    while (isAlive(owned)) await sleep(50);
  }
}

/** Send a signal to a process of ours (its whole group); false when it is not running. */
export function signalProcess(owned: OwnedProcess, signal: NodeJS.Signals): boolean {
  if (!isAlive(owned)) return false;
  signalGroup(owned.pid, signal);
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, stillRunning: () => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (!stillRunning()) throw new Error(`${what} exited before it was ready`);
    await sleep(250);
  }
  throw new Error(`${what} was not ready after ${timeoutMs} ms${lastError ? ` (last probe error: ${(lastError as Error).message})` : ''}`);
}

/** True when something already accepts connections on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
