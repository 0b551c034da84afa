import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../pipeline/paths.js';
import type { BenchReport } from './run.js';
import type { CaseResult, RatioResult, ToolRow } from './results.js';
import type { Figure } from './stats.js';

/** bench/REPORT.md: what a person reads. Every figure is the median of the measured runs, with (min–max). */
export function renderMarkdown(report: BenchReport): string {
  const env = report.environment;
  const out: string[] = [];
  out.push(`# Tally benchmark report (${report.mode} run)`);
  out.push('');
  out.push(`Run \`${report.runId}\`, ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${Math.round(report.seconds / 60)} min. Written by \`tally bench${report.mode === 'quick' ? ' --quick' : ''}\`; the numbers are in \`bench/report.json\`.`);
  out.push('');
  out.push('Every figure is the **median** of the measured runs (after one warm-up run), with the **min–max** of those runs in parentheses. Every ratio divides two figures measured in this same run, on the same data, on the same machine; absolute numbers drift on a shared machine, the ratios much less.');
  out.push('');
  out.push('## Machine and versions');
  out.push('');
  out.push('| | |');
  out.push('| --- | --- |');
  out.push(`| machine | ${env.machine.cpus} × ${env.machine.cpuModel}, ${env.machine.memoryGiB} GiB, ${env.machine.kernel}; load average at start ${env.loadAverageAtStart.join(' / ')} |`);
  out.push(`| Node | ${env.machine.node} (V8 ${env.machine.v8}) |`);
  out.push(`| Tally | ${env.tally.version}, ${env.tally.revision} |`);
  out.push(`| libraries | ${Object.entries(env.libraries).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
  out.push(`| Kafka | ${env.services.kafka} |`);
  out.push(`| Elasticsearch | ${env.services.elasticsearch} |`);
  out.push(`| peers | ${Object.entries(env.peers).map(([name, version]) => (version === 'not installed' ? `${name} not installed` : version)).join(', ')} |`);
  for (const [k, v] of Object.entries(env.settings)) out.push(`| ${k} | ${v} |`);
  out.push(`| sizes | ${report.sizes.runs} measured runs per tool; ship ${report.sizes.shipLines.toLocaleString('en')} lines, beats ${report.sizes.beatsEvents.toLocaleString('en')} events, transform ${report.sizes.transformEvents.toLocaleString('en')} events, ES sink ${report.sizes.sinkDocuments.toLocaleString('en')} documents, APEL ${report.sizes.apelRecords.toLocaleString('en')} records, end-to-end ${report.sizes.e2eSeconds} s at ${report.sizes.e2eRate.toLocaleString('en')} events/s${report.sizes.clientMessages ? `, Kafka clients ${report.sizes.clientMessages.toLocaleString('en')} messages` : ''} |`);
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push('| case | ratio or figure | value | target | met |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const c of report.cases) {
    if (c.status === 'not built' || c.ratios.length === 0) {
      out.push(`| ${c.title} | — | — | — | ${c.status === 'ok' ? 'no ratio' : c.status}${c.note ? `: ${oneLine(c.note)}` : ''} |`);
      continue;
    }
    for (const r of c.ratios) out.push(`| ${c.title} | ${r.name} | ${fig(r.value, 2)} | ${r.target?.text ?? '(for information)'} | ${met(r)} |`);
  }
  out.push('');
  out.push(...analysisOf(report));
  for (const c of report.cases) out.push(...renderCase(c));
  out.push('## How to read and reproduce');
  out.push('');
  out.push('- `bash bench/install-peers.sh` (as root; `tally bench` runs it when a peer is missing) installs kcat, rsyslog (+ kafka, elasticsearch modules) and syslog-ng (+ kafka-c) from Debian, and builds Filebeat 7.17.28 from the Go module proxy; `tally bench` (or `npm run bench`) runs everything, `--quick` a reduced run, `--cases ship,transform` a subset.');
  out.push('- Throughput window: from the first poll that sees output to the poll that sees all of it (Kafka end offsets, Elasticsearch `index_total`, queue files), so start-up and file discovery are outside the window for every tool alike. CPU seconds come from `/proc/<pid>/stat` (user + system, all threads) at those same two polls; peak RSS is `VmHWM` from `/proc/<pid>/status`.');
  out.push('- Logs of every process, the corpora and the CPU profiles of this run are in `' + report.runDir + '` (git-ignored).');
  out.push('');
  return `${out.join('\n')}\n`;
}

/**
 * bench/ANALYSIS.md is the prose of one run, named on its first line (`<!-- analyses run <id> -->`):
 * only that run's report carries it; any other run (quick, a subset, a newer full run) says that its
 * figures have no analysis yet and which run the analysis belongs to.
 */
function analysisOf(report: BenchReport): string[] {
  const file = path.join(projectRoot, 'bench', 'ANALYSIS.md');
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8').trim();
  const analysed = /^<!-- analyses run (\S+) -->/.exec(text)?.[1];
  if (analysed === report.runId) return [text.replace(/^<!--.*?-->\s*/, ''), ''];
  return [
    '## Analysis',
    '',
    `No analysis of this ${report.mode} run${report.cases.length ? ` (cases: ${report.cases.map((c) => c.id).join(', ')})` : ''} has been written: the tables below are its only account. \`bench/ANALYSIS.md\` analyses ${analysed ? `run \`${analysed}\`` : 'another run'} (its first line names the run).`,
    '',
  ];
}

function renderCase(c: CaseResult): string[] {
  const out: string[] = [];
  out.push(`## ${c.title}`);
  out.push('');
  if (c.input) out.push(`Input: ${c.input}. ${c.status !== 'ok' ? `**${c.status}**${c.note ? `: ${oneLine(c.note)}` : ''}. ` : ''}Case took ${c.seconds.toFixed(0)} s.`);
  else out.push(`**${c.status}**${c.note ? `: ${oneLine(c.note)}` : ''}`);
  out.push('');
  if (c.rows.length) {
    const extraKeys = [...new Set(c.rows.flatMap((r) => Object.keys(r.extra)))];
    out.push(`| tool | role | events/s | MB/s | CPU s per M events | peak RSS MB |${extraKeys.map((k) => ` ${k} |`).join('')}`);
    out.push(`| --- | --- | --- | --- | --- | --- |${extraKeys.map(() => ' --- |').join('')}`);
    for (const r of c.rows) out.push(rowLine(r, extraKeys));
    out.push('');
    out.push('<details><summary>How each tool ran</summary>');
    out.push('');
    for (const r of c.rows) out.push(`- **${r.tool}**: ${r.detail}${r.errors.length ? ` — errors: ${r.errors.map(oneLine).join('; ').slice(0, 600)}` : ''}`);
    out.push('');
    out.push('</details>');
    out.push('');
  }
  for (const t of c.tables) {
    out.push(`**${t.title}**`);
    out.push('');
    out.push(`| ${t.columns.join(' | ')} |`);
    out.push(`| ${t.columns.map(() => '---').join(' | ')} |`);
    for (const row of t.rows) out.push(`| ${row.map((v) => (typeof v === 'number' ? num(v, 1) : v)).join(' | ')} |`);
    out.push('');
  }
  if (c.ratios.length) {
    out.push('| ratio | value | target | met |');
    out.push('| --- | --- | --- | --- |');
    for (const r of c.ratios) out.push(`| ${r.name}${r.note ? ` (${r.note})` : ''} | ${fig(r.value, 2)} | ${r.target?.text ?? '—'} | ${met(r)} |`);
    out.push('');
  }
  const missed = c.ratios.filter((r) => r.target?.met === false);
  if (missed.length && c.profiles.length) {
    for (const p of c.profiles) {
      const top = p.modules.slice(0, 5).map((m) => `${m.module} ${m.selfPercent.toFixed(0)}%`).join(', ');
      out.push(`- Profile of ${p.stage} (main thread, whole process life incl. start-up): ${top}.`);
    }
  }
  for (const finding of c.findings) out.push(`- ${finding}`);
  if (c.findings.length || (missed.length && c.profiles.length)) out.push('');
  for (const p of c.profiles) {
    out.push(`<details><summary>CPU profile of ${p.stage}: top self time (${p.totalMs.toFixed(0)} ms busy; ${p.file})</summary>`);
    out.push('');
    out.push('| function | where | self ms | self % |');
    out.push('| --- | --- | --- | --- |');
    for (const t of p.top) out.push(`| \`${t.function}\` | ${t.url || '(native)'} | ${t.selfMs.toFixed(0)} | ${t.selfPercent.toFixed(1)} |`);
    out.push('');
    out.push('| by package or file | self ms | self % |');
    out.push('| --- | --- | --- |');
    for (const m of p.modules) out.push(`| ${m.module} | ${m.selfMs.toFixed(0)} | ${m.selfPercent.toFixed(1)} |`);
    out.push('');
    out.push('</details>');
    out.push('');
  }
  return out;
}

function rowLine(r: ToolRow, extraKeys: string[]): string {
  if (r.status !== 'ok') return `| ${r.tool} | ${r.role} | ${r.status}${r.note ? `: ${oneLine(r.note).slice(0, 160)}` : ''} | | | |${extraKeys.map(() => ' |').join('')}`;
  return `| ${r.tool} | ${r.role} | ${fig(r.eventsPerSecond, 0)} | ${fig(r.mbPerSecond, 1)} | ${fig(r.cpuSecondsPerMillion, 1)} | ${fig(r.peakRssMB, 0)} |${extraKeys.map((k) => ` ${r.extra[k] ? fig(r.extra[k] as Figure, 1) : ''} |`).join('')}`;
}

function met(r: RatioResult): string {
  if (!r.target) return '—';
  if (r.target.met === undefined) return 'n/a';
  if (r.target.met) return 'yes';
  const by = r.target.atMost ? r.value.median / r.target.threshold : r.target.threshold / r.value.median;
  return `**no** (${r.target.atMost ? `${by.toFixed(2)}× over` : `short by ${((1 - r.value.median / r.target.threshold) * 100).toFixed(0)}%`})`;
}

export function num(v: number, digits: number): string {
  if (!Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  const d = abs >= 1000 ? 0 : abs >= 100 ? Math.min(digits, 1) : abs >= 10 ? Math.max(digits, 1) : Math.max(digits, 2);
  return v.toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d });
}

function fig(f: Figure, digits: number): string {
  if (!Number.isFinite(f.median)) return '—';
  if (!Number.isFinite(f.min) || f.min === f.max) return num(f.median, digits);
  return `${num(f.median, digits)} (${num(f.min, digits)}–${num(f.max, digits)})`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
}
