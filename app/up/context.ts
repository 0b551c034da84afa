import type { Bus, Producer } from '../../pipeline/bus/types.js';
import type { Logger } from '../../pipeline/log.js';

export interface UpContext {
  bus: Bus;
  log: Logger;
  producer: Producer;
  /** scratch folder of this run (.tally/up) */
  workDir: string;
}

export interface SourceSummary {
  source: string;
  detail: string;
  /** raw events Kafka acknowledged */
  sent: number;
}
