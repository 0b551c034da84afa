import { readFileSync } from 'node:fs';
import type { TLSSocket, TlsOptions } from 'node:tls';
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
