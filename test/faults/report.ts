import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaultResult } from './suite.js';

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const seconds = (value: number | undefined): string => (value === undefined ? '–' : `${value.toFixed(1)} s`);

/** Every `<dir>/<fault>.json` of the FaultResult shape, whichever suite wrote it, by fault id. */
export async function readResults(dir: string): Promise<FaultResult[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  const results: FaultResult[] = [];
  for (const name of names) {
    const parsed = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Partial<FaultResult>;
    if (typeof parsed.fault !== 'string' || typeof parsed.trials !== 'number' || !Array.isArray(parsed.recoverySeconds)) continue;
    results.push({ fault: parsed.fault, description: parsed.description ?? '', trials: parsed.trials, lost: parsed.lost ?? 0, doubled: parsed.doubled ?? 0, validInDlq: parsed.validInDlq ?? 0, recoverySeconds: parsed.recoverySeconds, notes: parsed.notes ?? [] });
  }
  return results;
}

export function renderReport(results: FaultResult[], context: { command: string; when: string; trialsPerFault: number; machine: string }): string {
  const pass = (r: FaultResult) => r.lost === 0 && r.doubled === 0 && r.validInDlq === 0 && r.trials >= context.trialsPerFault && r.recoverySeconds.length === r.trials;
  const lines = [
    '# Fault suite report',
    '',
    `Run: \`${context.command}\`, ${context.when}, ${context.machine}. Each fault ran in its own pipeline (tally ship → transform → sink elasticsearch and sink apel, as bin/tally processes) on a Kafka broker and an Elasticsearch node of the suite alone, with a known input; each trial injects the fault once at a random point while data flows, restores, waits until every consumer group's lag is 0 and everything expected is visible, then compares Elasticsearch and the APEL queue with the input. Recovery: from the fault restored (stage restarted, service up again, proxy healthy, second consumer gone) to lag 0 with every expected record visible. The APEL-queue and truncation faults (\`apel-*\`, \`registry-truncated\`, \`queue-element-truncated\`; test/faults/apel-support.ts) run the same stages on the shared services with topics, groups, indices and a queue directory of their own, each trial with its own input; their descriptions and notes say how each fault was made.`,
    '',
    'Set-up: 4 partitions per topic, `kafka.sessionTimeoutMs` 10 s (so a SIGKILLed consumer\'s partitions move within 10 s), commit every 200 ms; per trial 3000 accounting JSON lines (every 293rd invalid) and 60 cASO VM snapshots over 40 VMs (each snapshot grows the durations, so only the latest may survive) plus 2 invalid cASO lines, appended in 6 bursts 0.8 s apart; the fault lands 0-400 ms after a random burst (not the first or last), while the stages work on it. Records lost counts expected records absent, with other content, or (APEL) whose last message carries an older snapshot, at any trial\'s check; doubled counts ids held more than once or not in the input. A negative control (a proxy that answers 201 for items it never forwarded) is run with the suite and must be reported lost; its result is under `controls/`.',
    '',
    '| fault | trials | records lost | doubled in ES | valid in DLQ | recovery median | recovery max | verdict |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.map((r) => `| \`${r.fault}\` | ${r.trials} | ${r.lost} | ${r.doubled} | ${r.validInDlq} | ${seconds(median(r.recoverySeconds))} | ${seconds(r.recoverySeconds.length ? Math.max(...r.recoverySeconds) : undefined)} | ${pass(r) ? 'pass' : '**FAIL**'} |`),
    '',
    '## Per fault',
    '',
  ];
  for (const r of results) {
    lines.push(`### \`${r.fault}\``, '', r.description, '');
    for (const note of r.notes) lines.push(`- ${note.replace(/\n/g, ' ')}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

export async function writeReport(resultsDir: string, file: string, context: Parameters<typeof renderReport>[1]): Promise<FaultResult[]> {
  const results = await readResults(resultsDir);
  await writeFile(file, renderReport(results, context));
  return results;
}
