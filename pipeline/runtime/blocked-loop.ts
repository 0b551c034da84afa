import { Worker } from 'node:worker_threads';

export interface LoopWatch {
  stop(): Promise<void>;
}

/**
 * Ends the process (SIGKILL, after a line naming EVENT_LOOP_BLOCKED on stderr) when its event loop
 * has not turned for blockedMs: the one hang the stall watchdog cannot see, since it runs on that loop.
 */
export function watchEventLoop(stage: string, blockedMs: number): LoopWatch {
  const beat = new SharedArrayBuffer(4);
  const counter = new Int32Array(beat);
  const checkMs = Math.max(50, Math.min(1000, Math.floor(blockedMs / 4)));
  const timer = setInterval(() => Atomics.add(counter, 0, 1), checkMs);
  timer.unref();
  const worker = new Worker(new URL('./blocked-loop-worker.js', import.meta.url), {
    workerData: { beat, blockedMs, stage, checkMs },
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 },
    stdout: false,
    stderr: false,
  });
  worker.unref();
  return {
    async stop() {
      clearInterval(timer);
      await worker.terminate();
    },
  };
}
