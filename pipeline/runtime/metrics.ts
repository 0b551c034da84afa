import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isTallyError } from '../errors.js';

/**
 * Every Tally metric, in one registry of its own (not prom-client's global one). Stage metrics are
 * labelled stage and kind; what belongs to the shared consumer loop is labelled by consumer group,
 * which names the stage as well and is all that loop knows. Increment per batch, with counts.
 */
export const metricsRegistry = new Registry();

const registers = [metricsRegistry];
const batchStarts = new Map<string, Set<{ at: number }>>();

export const metrics = {
  eventsIn: new Counter({ name: 'tally_events_in_total', help: 'events a stage received (lines read, events decoded, queue elements, Kafka records consumed)', labelNames: ['stage', 'kind'] as const, registers }),
  eventsOut: new Counter({ name: 'tally_events_out_total', help: 'events a stage handed on durably (acknowledged by Kafka, indexed by Elasticsearch, on disk in the APEL queue)', labelNames: ['stage', 'kind'] as const, registers }),
  eventsRejected: new Counter({ name: 'tally_events_rejected_total', help: 'events refused: sent to a dead-letter topic, or refused to the client', labelNames: ['stage', 'kind'] as const, registers }),
  eventsSkipped: new Counter({ name: 'tally_events_skipped_total', help: 'events deliberately not passed on (tombstones, filtered or empty lines, superseded snapshots), by reason', labelNames: ['stage', 'kind', 'reason'] as const, registers }),
  retries: new Counter({ name: 'tally_retries_total', help: 'work repeated after a retriable failure: Kafka sends (sources), documents (Elasticsearch sink), queue writes (APEL sink)', labelNames: ['stage', 'kind'] as const, registers }),
  deadLetters: new Counter({ name: 'tally_dlq_records_total', help: 'dead letters Kafka acknowledged on dlq.<kind>', labelNames: ['stage', 'kind'] as const, registers }),
  kafkaErrors: new Counter({ name: 'tally_kafka_errors_total', help: 'Kafka requests that failed (a retried send counts once per failure), by error code', labelNames: ['stage', 'code'] as const, registers }),
  elasticsearchErrors: new Counter({ name: 'tally_elasticsearch_errors_total', help: 'bulk requests or items Elasticsearch did not take, by HTTP status or error code', labelNames: ['stage', 'code'] as const, registers }),

  batches: new Counter({ name: 'tally_batches_total', help: 'consumer batches made durable downstream', labelNames: ['group'] as const, registers }),
  batchMessages: new Counter({ name: 'tally_batch_messages_total', help: 'Kafka messages in consumer batches made durable downstream', labelNames: ['group'] as const, registers }),
  batchDuration: new Histogram({
    name: 'tally_batch_duration_seconds',
    help: 'time from a consumer batch being handed to its stage until it was durable, retries included',
    labelNames: ['group'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  }),
  batchRetries: new Counter({ name: 'tally_batch_retries_total', help: 'consumer batches retried after the stage failed to make them durable, by error code', labelNames: ['group', 'code'] as const, registers }),
  batchAge: new Gauge({
    name: 'tally_batch_age_seconds',
    help: 'how long the oldest consumer batch in hand has been in its stage (0 when none)',
    labelNames: ['group'] as const,
    registers,
    collect() {
      const now = performance.now();
      for (const [group, starts] of batchStarts) {
        let oldest = now;
        for (const start of starts) oldest = Math.min(oldest, start.at);
        this.set({ group }, (now - oldest) / 1000);
      }
    },
  }),
  consumerErrors: new Counter({ name: 'tally_consumer_errors_total', help: 'errors the Kafka consumer reported (fetch, commit, group), by error code', labelNames: ['group', 'code'] as const, registers }),
  consumerLag: new Gauge({ name: 'tally_consumer_lag', help: 'messages of a partition not yet committed by the consumer group', labelNames: ['group', 'topic', 'partition'] as const, registers }),

  stalledSeconds: new Gauge({ name: 'tally_progress_stalled_seconds', help: 'how long a progress probe has had pending work that did not move (0 when idle or moving)', labelNames: ['stage', 'probe'] as const, registers }),
  probeErrors: new Counter({ name: 'tally_progress_probe_errors_total', help: 'progress probes that could not be read (Kafka admin unreachable ...)', labelNames: ['stage', 'probe'] as const, registers }),
  ready: new Gauge({ name: 'tally_ready', help: '1 when the stage reports ready on /readyz, else 0', labelNames: ['stage'] as const, registers }),
};

/** A consumer batch entered its stage: tally_batch_age_seconds counts from now until the returned function is called. */
export function batchInHand(group: string): () => void {
  const start = { at: performance.now() };
  let starts = batchStarts.get(group);
  if (!starts) batchStarts.set(group, (starts = new Set()));
  starts.add(start);
  return () => starts.delete(start);
}

/** The `code` label of an error: its TallyError code, else UNKNOWN (never free text, so the series stay few). */
export function errorCode(error: unknown): string {
  return isTallyError(error) ? error.code : 'UNKNOWN';
}

let processMetrics = false;

/** Process metrics (CPU, memory, event-loop delay, GC) as tally_process_* / tally_nodejs_*; once per process. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: metricsRegistry, prefix: 'tally_' });
}

/** What a kind went through in a stage, as running totals since the stage started. */
export interface KindCounts {
  in?: number;
  out?: number;
  rejected?: number;
  deadLettered?: number;
  retried?: number;
  skipped?: Record<string, number>;
}

/** A stage's running totals, read from its own stats() object when /metrics is scraped. */
export interface StageCounts {
  kinds?: Record<string, KindCounts>;
  /** failures by error code (KAFKA_RETRIABLE ...) */
  kafkaErrors?: Record<string, number>;
  elasticsearchErrors?: Record<string, number>;
}

/**
 * Turns a stage's running totals into counter increments: each call adds what grew since the last
 * call. Nothing runs on the hot path; the stage keeps counting in its plain stats object.
 */
export function countsBridge(stage: string, read: () => StageCounts): () => void {
  const seen = new Map<Counter<string>, Map<string, number>>();
  const add = (counter: Counter<string>, labels: Record<string, string>, total: number | undefined): void => {
    if (total === undefined || !Number.isFinite(total)) return;
    let byLabels = seen.get(counter);
    if (!byLabels) seen.set(counter, (byLabels = new Map()));
    const key = Object.values(labels).join('\u0000');
    const last = byLabels.get(key);
    byLabels.set(key, total);
    // a series at 0 from the first scrape on, so rate() and alerts see it before the first event
    if (last === undefined) counter.inc(labels, Math.max(0, total));
    else if (total > last) counter.inc(labels, total - last);
  };
  return () => {
    const counts = read();
    for (const [kind, c] of Object.entries(counts.kinds ?? {})) {
      add(metrics.eventsIn, { stage, kind }, c.in);
      add(metrics.eventsOut, { stage, kind }, c.out);
      add(metrics.eventsRejected, { stage, kind }, c.rejected);
      add(metrics.deadLetters, { stage, kind }, c.deadLettered);
      add(metrics.retries, { stage, kind }, c.retried);
      for (const [reason, n] of Object.entries(c.skipped ?? {})) add(metrics.eventsSkipped, { stage, kind, reason }, n);
    }
    for (const [code, n] of Object.entries(counts.kafkaErrors ?? {})) add(metrics.kafkaErrors, { stage, code }, n);
    for (const [code, n] of Object.entries(counts.elasticsearchErrors ?? {})) add(metrics.elasticsearchErrors, { stage, code }, n);
  };
}
