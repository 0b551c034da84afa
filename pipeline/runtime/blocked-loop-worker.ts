import { workerData } from 'node:worker_threads';
import { writeStderrLineNow } from './stderr-line.js';

/**
 * The event-loop watchdog's own thread: the main thread bumps a shared counter while its event
 * loop turns; when the counter has not moved for blockedMs, no JavaScript of the main thread will
 * ever run again (a native call that never returns), so neither the stall watchdog nor a SIGTERM
 * handler can end the process. This thread says why on stderr and ends it with SIGKILL.
 */
const { beat, blockedMs, stage, checkMs } = workerData as { beat: SharedArrayBuffer; blockedMs: number; stage: string; checkMs: number };
const counter = new Int32Array(beat);
let seen = Atomics.load(counter, 0);
let movedAt = Date.now();

setInterval(() => {
  const now = Atomics.load(counter, 0);
  if (now !== seen) {
    seen = now;
    movedAt = Date.now();
    return;
  }
  const silentMs = Date.now() - movedAt;
  if (silentMs < blockedMs) return;
  const msg = `tally ${stage}: its event loop has not turned for ${Math.round(silentMs / 1000)} s (a call that never returns, e.g. inside a native Kafka client); no handler can run, so the process ends with SIGKILL for its supervisor to start it again, from the committed offsets (ops.blockedLoopMs; 0 turns this off)`;
  writeStderrLineNow(60, { code: 'EVENT_LOOP_BLOCKED', stage }, msg);
  process.kill(process.pid, 'SIGKILL');
}, checkMs);
