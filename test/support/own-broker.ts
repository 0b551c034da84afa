import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServicesConfig } from '../../pipeline/config/types.js';
import { startKafka, stopKafka } from '../../pipeline/services/kafka.js';
import type { ServicesLayout } from '../../pipeline/services/layout.js';
import type { KafkaState } from '../../pipeline/services/state.js';
import { projectRoot } from '../../pipeline/paths.js';
import { freePort } from './world.js';

/**
 * A Kafka broker a test may stop, kill and start again (same data folder, same cluster id), on
 * free ports with a folder of its own, from the cached artifacts: the shared broker must never see that.
 */
export interface OwnBroker {
  bootstrap: string;
  /** SIGTERM (a clean restart) or SIGKILL, waiting until the process is gone */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startOwnBroker(name: string): Promise<OwnBroker> {
  const dir = mkdtempSync(path.join(tmpdir(), `broker-${name}-`));
  chmodSync(dir, 0o755);
  const layout: ServicesLayout = { root: dir, cacheDir: process.env.TALLY_FAULT_CACHE_DIR ?? path.join(projectRoot, '.tally', 'cache'), runDir: path.join(dir, 'run'), stateFile: path.join(dir, 'run', 'services.json') };
  const config: ServicesConfig['kafka'] = { version: '4.1.2', port: await freePort(), controllerPort: await freePort(), heap: '512m', startTimeoutMs: 180_000 };
  const state: KafkaState = await startKafka(layout, config);
  let running = true;
  return {
    bootstrap: state.bootstrap,
    async stop(signal = 'SIGTERM') {
      if (!running) return;
      if (signal === 'SIGKILL') {
        process.kill(-state.pid, 'SIGKILL');
        await processGone(state.pid);
      } else await stopKafka(state);
      running = false;
    },
    async start() {
      Object.assign(state, await startKafka(layout, config, state));
      running = true;
    },
    async close() {
      if (running) await stopKafka(state).catch(() => undefined);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A child process spinning on one core until stopped: a busy machine, as CI's may be. */
export function busyCore(): { stop(): void } {
  const child: ChildProcess = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  return { stop: () => void child.kill('SIGKILL') };
}

/** Until the process is gone (a SIGKILL is not instant), at most 60 s. */
export async function processGone(pid: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
