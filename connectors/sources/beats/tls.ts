import { readFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from '../../../pipeline/log.js';
import { TallyError } from '../../../pipeline/errors.js';
import type { BeatsTlsConfig } from './config.js';

/**
 * node:tls options for the server. `required` lets the handshake refuse a client without a
 * certificate from one of the CAs; `optional` asks for one and accepts a client without, and
 * `verifyOptionalPeer` then refuses one whose certificate does not verify (as Logstash's
 * `ssl_client_authentication => optional` does). Only the chain is checked, never the CN or SAN.
 */
export function tlsServerOptions(tls: BeatsTlsConfig, origin = 'beats.tls'): TlsOptions {
  const read = (key: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new TallyError('CONFIG_INVALID', `${key}: cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
  };
  return {
    cert: read(`${origin}.certFile`, tls.certFile),
    key: read(`${origin}.keyFile`, tls.keyFile),
    ...(tls.caFiles.length > 0 ? { ca: tls.caFiles.map((file, i) => read(`${origin}.caFiles[${i}]`, file)) } : {}),
    requestCert: tls.clientCertificates !== 'none',
    rejectUnauthorized: tls.clientCertificates === 'required',
    handshakeTimeout: tls.handshakeTimeoutMs,
    minVersion: 'TLSv1.2',
  };
}

/** Why an `optional`-mode client must be refused (it sent a certificate that does not verify), or undefined. */
export function optionalPeerProblem(socket: TLSSocket): string | undefined {
  if (socket.authorized) return undefined;
  const certificate = socket.getPeerCertificate();
  const presented = certificate !== null && typeof certificate === 'object' && Object.keys(certificate).length > 0;
  return presented ? `client certificate not trusted: ${String(socket.authorizationError ?? 'unverified')}` : undefined;
}

/** `host:port` of a TLS client, also once the socket is gone (then from the TCP connection it came on). */
export type ClientAddressOf = (socket: TLSSocket) => string;

/**
 * Logs (and counts) every client the TLS handshake refuses, with its address and why. A client
 * whose certificate fails verification is reset before 'tlsClientError' fires, and by then the
 * TLS socket no longer knows its peer: the address is taken from the TCP connection when it opens.
 */
/** `server`: a tls.Server or an https.Server. */
export function logRefusedHandshakes(server: EventEmitter, what: string, log: Logger, refused: () => void): ClientAddressOf {
  const addresses = new WeakMap<Socket, string>();
  server.on('connection', (raw: Socket) => addresses.set(raw, `${raw.remoteAddress ?? 'unknown'}:${raw.remotePort ?? 0}`));
  const addressOf: ClientAddressOf = (socket) => {
    if (socket.remoteAddress) return `${socket.remoteAddress}:${socket.remotePort ?? 0}`;
    // node keeps the TCP socket a server-side TLS socket wraps as _parent
    const raw = (socket as TLSSocket & { _parent?: Socket })._parent;
    return (raw && addresses.get(raw)) ?? 'unknown';
  };
  server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
    refused();
    const why = socket.authorizationError ? `client certificate not trusted: ${String(socket.authorizationError)}` : `TLS handshake failed: ${error.message.trim()}`;
    log.warn({ client: addressOf(socket), reason: why }, `refusing ${what} client: ${why}`);
  });
  return addressOf;
}
