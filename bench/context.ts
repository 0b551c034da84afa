import type { BenchWorld } from './world.js';
import type { Corpora } from './corpora.js';

/** What every case gets: the run's world, its corpora, a progress log, and whether to profile. */
export interface CaseContext {
  world: BenchWorld;
  corpora: Corpora;
  log: (line: string) => void;
  /** run one extra, unmeasured, profiled run of each Tally stage (node --cpu-prof) */
  profile: boolean;
}
