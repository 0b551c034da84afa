import type { Logger } from '../log.js';

export type StopHandler = (deadline: number) => Promise<void>;

/**
 * First SIGINT/SIGTERM: run the stop handlers (stop consuming, finish in-flight work, commit) within
 * the drain deadline, then exit 0. A second signal exits at once with 130.
 */
export function installShutdown(log: Logger, drainTimeoutMs: number, handlers: StopHandler[]): { stopping: () => boolean; stop: (reason: string) => Promise<void> } {
  let stopping = false;
  let done: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    if (done) return done;
    stopping = true;
    const deadline = Date.now() + drainTimeoutMs;
    log.info({ reason, drainTimeoutMs }, 'shutting down: draining in-flight work');
    const timer = setTimeout(() => {
      log.error({ drainTimeoutMs }, 'drain deadline passed; exiting with work in flight (it will be redelivered, not lost)');
      process.exit(1);
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
      process.exit(130);
    }
    void stop(signal).then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { stopping: () => stopping, stop };
}
