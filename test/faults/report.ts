import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FaultResult, TrialRecord } from './suite.js';

/** What the report reads of a result file: the shared shape, plus this suite's per-trial readiness where it wrote it. */
export interface ReportedFault extends FaultResult {
  /** trials whose every stage answered /readyz 200 after recovery; undefined where the suite did not sample readiness */
  readyAfter?: number;
  /** trials in which the fault tested nothing */
  vacuous: number;
  /** per stage, in how many trials its /readyz answered 503 between the fault and recovery */
  notReadyDuring: Record<string, number>;
  /** record ids held more than once in the domain topics read with read_committed; undefined where no trial checked them */
  domainDoubled?: number;
}

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const seconds = (value: number | undefined): string => (value === undefined ? '–' : `${value.toFixed(1)} s`);

/** Every `<dir>/<fault>.json` of the FaultResult shape, whichever suite wrote it, by fault id. */
export async function readResults(...dirs: string[]): Promise<ReportedFault[]> {
  const results = new Map<string, ReportedFault>();
  for (const dir of dirs) {
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.json'))) {
      const parsed = JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Partial<FaultResult> & { details?: { trials?: (Partial<TrialRecord> & { outcome?: { domainDoubled?: string[] } })[] } };
      if (typeof parsed.fault !== 'string' || typeof parsed.trials !== 'number' || !Array.isArray(parsed.recoverySeconds)) continue;
      const trials = parsed.details?.trials ?? [];
      const sampled = trials.filter((t) => t.readiness);
      const notReadyDuring: Record<string, number> = {};
      for (const t of sampled) for (const stage of t.readiness?.notReadyDuring ?? []) notReadyDuring[stage] = (notReadyDuring[stage] ?? 0) + 1;
      results.set(parsed.fault, {
        fault: parsed.fault,
        description: parsed.description ?? '',
        trials: parsed.trials,
        lost: parsed.lost ?? 0,
        doubled: parsed.doubled ?? 0,
        validInDlq: parsed.validInDlq ?? 0,
        recoverySeconds: parsed.recoverySeconds,
        notes: parsed.notes ?? [],
        ...(sampled.length ? { readyAfter: sampled.filter((t) => (t.readiness?.notReadyAfter ?? []).length === 0).length } : {}),
        vacuous: trials.filter((t) => t.vacuous).length,
        notReadyDuring,
        ...domainDoubledOf(trials),
      });
    }
  }
  return [...results.values()].sort((a, b) => a.fault.localeCompare(b.fault));
}

function domainDoubledOf(trials: { outcome?: { domainDoubled?: string[] } }[]): { domainDoubled?: number } {
  const checked = trials.filter((t) => Array.isArray(t.outcome?.domainDoubled));
  if (checked.length === 0) return {};
  return { domainDoubled: new Set(checked.flatMap((t) => (t.outcome?.domainDoubled ?? []).map((id) => id.split(' ×')[0] ?? id))).size };
}

export function renderReport(results: ReportedFault[], context: { command: string; when: string; trialsPerFault: number; machine: string }, controls: ReportedFault[] = []): string {
  const stuck = (r: ReportedFault) => r.trials - r.recoverySeconds.length;
  const pass = (r: ReportedFault) => r.lost === 0 && r.doubled === 0 && r.validInDlq === 0 && r.trials >= context.trialsPerFault && stuck(r) === 0 && r.vacuous === 0 && (r.readyAfter === undefined || r.readyAfter === r.trials);
  const lines = [
    '# Fault suite report',
    '',
    `Run: \`${context.command}\`, ${context.when}, ${context.machine}. Each fault ran in its own pipeline (tally ship → transform → sink elasticsearch and sink apel, as bin/tally processes) on a Kafka and an Elasticsearch of the suite alone (one broker and one node; for the \`cluster-*\` faults three brokers with replication 3 and \`min.insync.replicas\` 2, once per client backend; for \`es-node-sigkill\` two Elasticsearch nodes whose indices have one replica), with a known input; each trial injects the fault once at a random point while data flows, restores, waits until every consumer group's lag is 0 and everything expected is visible, then compares Elasticsearch and the APEL queue with the input. Recovery: from the fault restored (stage restarted, service or node up again, proxy healthy, second consumer gone) to lag 0 with every expected record visible. During every trial of the pipeline faults each stage's \`/readyz\` is sampled every second (\`ops.stallTimeoutMs\` 5 s), and after recovery every stage must answer 200 again within 30 s; no stage is restarted by hand except the one a fault kills. The APEL-queue and truncation faults (\`apel-*\`, \`registry-truncated\`, \`queue-element-truncated\`; test/faults/apel-support.ts) run the same stages on the shared services with topics, groups, indices and a queue directory of their own, each trial with its own input; their descriptions and notes say how each fault was made.`,
    '',
    'Set-up: 4 partitions per topic, `kafka.sessionTimeoutMs` 10 s (so a SIGKILLed consumer\'s partitions move within 10 s), commit every 200 ms; per trial 3000 accounting JSON lines (every 293rd invalid) and 60 cASO VM snapshots over 40 VMs (each snapshot grows the durations, so only the latest may survive) plus 2 invalid cASO lines, appended in 6 bursts 0.8 s apart; the fault lands 0-400 ms after a random burst (not the first or last), while the stages work on it. Records lost counts expected records absent, with other content, or (APEL) whose last message carries an older snapshot, at any trial\'s check; doubled counts ids held more than once or not in the input. A negative control (a proxy that answers 201 for items it never forwarded) is run with the suite and must be reported lost; its result is under `controls/`.',
    '',
    'Stuck counts trials that did not recover (within 300 s unless the fault says otherwise); vacuous, trials in which the fault tested nothing; ready after, trials after which every stage answered `/readyz` 200 within 30 s (– where the suite did not sample readiness).',
    '',
    'Doubled counts ids held more than once in Elasticsearch or, read with `read_committed`, in the domain topics; the domain column counts the latter alone (– where the run predates that check, before exactly-once).',
    '',
    '| fault | trials | records lost | doubled | of them in domain topics (read_committed) | valid in DLQ | stuck | vacuous | ready after | recovery median | recovery max | verdict |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...results.map((r) => `| \`${r.fault}\` | ${r.trials} | ${r.lost} | ${r.doubled} | ${r.domainDoubled ?? '–'} | ${r.validInDlq} | ${stuck(r)} | ${r.vacuous} | ${r.readyAfter ?? '–'} | ${seconds(median(r.recoverySeconds))} | ${seconds(r.recoverySeconds.length ? Math.max(...r.recoverySeconds) : undefined)} | ${pass(r) ? 'pass' : '**FAIL**'} |`),
    '',
    ...(controls.length
      ? [
          '## Negative controls',
          '',
          'Each runs once with a defect made on purpose; the checks must see it (`control-silent-drop`: documents lost; `control-eos-off`: doubles in the domain topics read with read_committed).',
          '',
          '| control | records lost | doubled | of them in domain topics (read_committed) | checks saw the defect |',
          '| --- | ---: | ---: | ---: | --- |',
          ...controls.map((c) => `| \`${c.fault}\` | ${c.lost} | ${c.doubled} | ${c.domainDoubled ?? '–'} | ${c.lost > 0 || c.doubled > 0 ? 'yes' : '**NO**'} |`),
          '',
        ]
      : []),
    '## Per fault',
    '',
  ];
  for (const r of [...results, ...controls]) {
    lines.push(`### \`${r.fault}\``, '', r.description, '');
    const during = Object.entries(r.notReadyDuring).sort((a, b) => a[0].localeCompare(b[0]));
    if (r.readyAfter !== undefined) lines.push(`- /readyz 503 while the fault lasted: ${during.map(([stage, n]) => `${stage} in ${n}`).join(', ') || 'no stage'} of ${r.trials} trials; every stage 200 again after ${r.readyAfter} of ${r.trials}`);
    for (const note of r.notes) lines.push(`- ${note.replace(/\n/g, ' ')}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** REPORT.md from the result files of one or more runs (a fault in several folders: the last folder's). */
export async function writeReport(resultsDir: string | string[], file: string, context: Parameters<typeof renderReport>[1]): Promise<ReportedFault[]> {
  const dirs = Array.isArray(resultsDir) ? resultsDir : [resultsDir];
  const results = await readResults(...dirs);
  const controlDirs = (await Promise.all(dirs.map(async (dir) => ((await stat(path.join(dir, 'controls')).catch(() => undefined))?.isDirectory() ? path.join(dir, 'controls') : undefined)))).filter((d): d is string => d !== undefined);
  await writeFile(file, renderReport(results, context, await readResults(...controlDirs)));
  return results;
}
