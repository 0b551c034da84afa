import { ownCpuSeconds } from '../proc.js';

export interface LoopResult {
  events: number;
  cpuSeconds: number;
  wallSeconds: number;
  /** events per CPU second: one core's worth */
  perCore: number;
}

/**
 * The transform's CPU ceiling: an in-process loop that only parses. `envelope`: what the transform
 * must at least do to the same Kafka values, UTF-8 decode + JSON.parse of the envelope + JSON.parse
 * of its message (the line); `line`: JSON.parse of the bare lines only. Repeated over the inputs
 * until `events` parses are done; one warm-up pass first so V8 has compiled the loop.
 */
export function parseOnlyLoop(values: readonly Buffer[], events: number, mode: 'envelope' | 'line'): LoopResult {
  const lines = mode === 'line' ? values.map((v) => (JSON.parse(v.toString('utf8')) as { message: string }).message) : [];
  let sink = 0;
  const pass = (count: number): void => {
    for (let i = 0; i < count; i += 1) {
      if (mode === 'envelope') {
        const envelope = JSON.parse((values[i % values.length] as Buffer).toString('utf8')) as { message: string };
        const line = JSON.parse(envelope.message) as Record<string, unknown>;
        if (line.level !== undefined) sink += 1;
      } else {
        const line = JSON.parse(lines[i % lines.length] as string) as Record<string, unknown>;
        if (line.level !== undefined) sink += 1;
      }
    }
  };
  pass(Math.min(events, 50_000));
  const cpu0 = ownCpuSeconds();
  const wall0 = performance.now();
  pass(events);
  const cpuSeconds = ownCpuSeconds() - cpu0;
  const wallSeconds = (performance.now() - wall0) / 1000;
  if (sink === 0) throw new Error('parse loop parsed nothing');
  return { events, cpuSeconds, wallSeconds, perCore: events / cpuSeconds };
}
