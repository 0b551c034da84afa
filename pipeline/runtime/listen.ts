import type { Server } from 'node:net';
import { TallyError } from '../errors.js';

const hints: Record<string, string> = {
  EADDRINUSE: 'the port is taken by another process: stop it or choose another port',
  EACCES: 'this user may not listen on that port (below 1024 needs privileges): choose another port',
  EADDRNOTAVAIL: 'the address is not one of this machine\'s: choose another host',
};

/**
 * Listen on host:port, or fail with LISTEN_FAILED naming the server, the address and the system's
 * reason: a busy port is a fact about the machine, not a configuration error.
 */
export async function listen(server: Server, port: number, host: string, what: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    throw new TallyError('LISTEN_FAILED', `${what}: cannot listen on ${address}: ${hints[code] ?? (error as Error).message} (${code || 'error'})`, { cause: error, details: { host, port, errno: code } });
  }
}
