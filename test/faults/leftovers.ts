/**
 * What the suite started must not outlive it: the services run detached and the stages are child
 * processes, so a runner that is interrupted (a timeout, Ctrl-C) kills them on its way out.
 */
const pids = new Set<number>();
let installed = false;

function killAll(): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

/** A process (negative: a process group) to SIGKILL if this process exits before forgetting it. */
export function killOnExit(pid: number): () => void {
  if (!installed) {
    installed = true;
    process.once('exit', killAll);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  }
  pids.add(pid);
  return () => pids.delete(pid);
}
