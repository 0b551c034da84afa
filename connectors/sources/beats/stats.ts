/** Counters of one beats server, for logs, tests and (later) /metrics. */
export interface BeatsStats {
  /** connections open now */
  connections: number;
  /** connections accepted since start (after the TLS handshake, if any) */
  accepted: number;
  /** windows decoded */
  windows: number;
  /** events acknowledged to clients (after Kafka acknowledged them) */
  events: number;
  /** events that went to dlq.<kind> instead of raw.<kind> (not JSON objects, too large) */
  rejected: number;
  /** Kafka sends retried */
  retries: number;
  /** '2A 0' keepalives written */
  keepalives: number;
  /** connections closed for breaking the protocol */
  protocolErrors: number;
  /** connections closed as idle or for not finishing a window in time */
  timeouts: number;
  /** TLS clients refused (handshake failed, certificate missing or not trusted) */
  tlsRefused: number;
  /** bytes held across all connections now (received, not yet acknowledged), and the most at once */
  bufferedBytes: number;
  bufferedBytesPeak: number;
  /** connections not reading now because maxBufferedBytes is spent */
  waitingForBudget: number;
}

export function emptyStats(): BeatsStats {
  return { connections: 0, accepted: 0, windows: 0, events: 0, rejected: 0, retries: 0, keepalives: 0, protocolErrors: 0, timeouts: 0, tlsRefused: 0, bufferedBytes: 0, bufferedBytesPeak: 0, waitingForBudget: 0 };
}
