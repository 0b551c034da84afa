import { abandonedNativeCalls } from '../bus/native-calls.js';
import type { Logger } from '../log.js';
import { writeStderrLineNow } from './stderr-line.js';

export type StopHandler = (deadline: number) => Promise<void>;

/** How the process ends when it ends by itself, not by a signal: 75 (EX_TEMPFAIL) tells a supervisor that a restart may help. */
export const exitCodes = { stalled: 75 } as const;

let installedStop: ((reason: string, exitCode: number) => void) | undefined;

/**
 * End the process with `exitCode` after the same bounded drain a SIGTERM gets (the stop handlers
 * installed by installShutdown, within shutdown.drainTimeoutMs), or at once when none are installed.
 */
export function exitAfterDrain(reason: string, exitCode: number): void {
  if (installedStop) installedStop(reason, exitCode);
  else endProcess(exitCode);
}

/**
 * process.exit, unless a native call was abandoned (pipeline/bus/native-calls.ts): exit joins the
 * libuv threads, and the one holding that call never comes back, so the process would stay; it
 * ends with SIGKILL instead, which its supervisor treats as any failure.
 */
function endProcess(exitCode: number): void {
  const stuck = abandonedNativeCalls();
  if (stuck.length === 0) process.exit(exitCode);
  writeStderrLineNow(50, { abandonedNativeCalls: stuck, exitCode }, `ending with SIGKILL instead of exit code ${exitCode}: ${stuck.length} native call(s) never returned, and a normal exit would wait for them forever`);
  process.kill(process.pid, 'SIGKILL');
}

/**
 * First SIGINT/SIGTERM: run the stop handlers (stop consuming, finish in-flight work, commit) within
 * the drain deadline, then exit 0. A second signal exits at once with 130.
 */
export function installShutdown(log: Logger, drainTimeoutMs: number, handlers: StopHandler[]): { stopping: () => boolean; stop: (reason: string) => Promise<void> } {
  let stopping = false;
  let done: Promise<void> | undefined;
  const stop = (reason: string, exitCode = 0): Promise<void> => {
    if (done) return done;
    stopping = true;
    const deadline = Date.now() + drainTimeoutMs;
    log.info({ reason, drainTimeoutMs }, 'shutting down: draining in-flight work');
    const timer = setTimeout(() => {
      log.error({ drainTimeoutMs }, 'drain deadline passed; exiting with work in flight (it will be redelivered, not lost)');
      endProcess(exitCode || 1);
    }, drainTimeoutMs);
    timer.unref();
    done = (async () => {
      for (const handler of handlers) {
        try {
          await handler(deadline);
        } catch (error) {
          log.error({ err: error }, 'error while stopping');
        }
      }
      clearTimeout(timer);
    })();
    return done;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      endProcess(130);
    }
    void stop(signal).then(() => endProcess(0));
  };
  installedStop = (reason, exitCode) => {
    if (stopping) return;
    void stop(reason, exitCode).then(() => endProcess(exitCode));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { stopping: () => stopping, stop };
}
