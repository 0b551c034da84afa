/** How much data each case moves, and how often it repeats: --quick (under 5 min) or the full run (under 30 min). */
export interface Sizes {
  /** measured repetitions after one warm-up run */
  runs: number;
  /** partitions of every topic the benchmark creates (one per core of the 2-core reference box) */
  partitions: number;
  shipLines: number;
  shipWarmupLines: number;
  beatsEvents: number;
  transformEvents: number;
  /** other kinds (apel-message messages × records, ror-audit, oslo-log lines) */
  transformOtherEvents: number;
  sinkDocuments: number;
  apelRecords: number;
  e2eSeconds: number;
  e2eRate: number;
  startupRepeats: number;
  /** the in-process JSON.parse loop */
  parseLoopEvents: number;
  /** messages each Kafka client produces, consumes and copies in transactions (case clients) */
  clientMessages: number;
}

export const quickSizes: Sizes = {
  runs: 3,
  partitions: 2,
  shipLines: 100_000,
  shipWarmupLines: 30_000,
  beatsEvents: 40_960,
  transformEvents: 30_000,
  transformOtherEvents: 10_000,
  sinkDocuments: 20_000,
  apelRecords: 50_000,
  e2eSeconds: 6,
  e2eRate: 5_000,
  startupRepeats: 2,
  parseLoopEvents: 200_000,
  clientMessages: 100_000,
};

export const fullSizes: Sizes = {
  runs: 3,
  partitions: 2,
  shipLines: 600_000,
  shipWarmupLines: 150_000,
  beatsEvents: 204_800,
  transformEvents: 200_000,
  transformOtherEvents: 20_000,
  sinkDocuments: 200_000,
  apelRecords: 200_000,
  e2eSeconds: 20,
  e2eRate: 5_000,
  startupRepeats: 5,
  parseLoopEvents: 1_000_000,
  clientMessages: 300_000,
};
