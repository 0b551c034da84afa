import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import type { Bus, Producer } from '../../../pipeline/bus/types.js';
import type { Logger } from '../../../pipeline/log.js';
import { listen } from '../../../pipeline/runtime/listen.js';
import { resolveBeatsConfig, type BeatsSourceConfig, type BeatsSourceConfigInput } from './config.js';
import { ByteBudget } from './byte-budget.js';
import { BeatsConnection } from './connection.js';
import { emptyStats, type BeatsStats } from './stats.js';
import { logRefusedHandshakes, optionalPeerProblem, tlsServerOptions } from './tls.js';

export interface BeatsServerOptions {
  config?: BeatsSourceConfigInput | BeatsSourceConfig;
  bus: Bus;
  log: Logger;
  /** a producer to share; by default the server opens its own and closes it on close() */
  producer?: Producer;
}

export interface BeatsServer {
  port: number;
  host: string;
  tls: boolean;
  stats(): BeatsStats;
  /** Stop accepting, deliver and acknowledge the windows already received (up to timeoutMs, default 30 s), close every connection. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** `tally beats`: a lumberjack v2 (and v1) server writing Filebeat events to raw.<kind>. */
export async function startBeatsServer(options: BeatsServerOptions): Promise<BeatsServer> {
  const config = resolveBeatsConfig(options.config ?? {});
  const { bus, log } = options;
  const stats = emptyStats();
  const connections = new Set<BeatsConnection>();
  const tlsOptions = config.tls ? tlsServerOptions(config.tls) : undefined;
  const producer = options.producer ?? (await bus.producer());
  const budget = new ByteBudget(config.maxBufferedBytes);
  const context = { config, producer, topicName: (name: string) => bus.topic(name), log, stats, budget };

  const accept = (socket: Socket): void => {
    const connection = new BeatsConnection(socket, context);
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
  };

  let server: Server;
  if (tlsOptions && config.tls) {
    const mode = config.tls.clientCertificates;
    server = tls.createServer(tlsOptions, (socket: TLSSocket) => {
      const problem = mode === 'optional' ? optionalPeerProblem(socket) : undefined;
      if (problem) {
        stats.tlsRefused += 1;
        log.warn({ client: `${socket.remoteAddress}:${socket.remotePort}`, reason: problem }, `refusing beats client: ${problem}`);
        socket.destroy();
        return;
      }
      accept(socket);
    });
    logRefusedHandshakes(server, 'beats', log, () => (stats.tlsRefused += 1));
  } else {
    server = net.createServer(accept);
  }
  server.maxConnections = config.maxConnections;
  server.on('drop', () => log.warn({ maxConnections: config.maxConnections }, 'beats connection refused: maxConnections reached'));

  try {
    await listen(server, config.port, config.host, 'beats');
  } catch (error) {
    if (!options.producer) await producer.close();
    throw error;
  }
  server.on('error', (error) => log.error({ err: error }, 'beats server error'));
  const port = (server.address() as AddressInfo).port;
  log.info({ host: config.host, port, tls: Boolean(config.tls), clientCertificates: config.tls?.clientCertificates, kind: config.kind }, 'beats source listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    host: config.host,
    tls: Boolean(config.tls),
    stats: () => ({ ...stats, bufferedBytes: budget.used, bufferedBytesPeak: budget.peak, waitingForBudget: budget.waiting }),
    close(closeOptions = {}) {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...connections].map((c) => c.drain(closeOptions.timeoutMs ?? 30_000)));
        await stopped;
        if (!options.producer) await producer.close();
        log.info({ ...stats }, 'beats source closed');
      })();
      return closing;
    },
  };
}
