import { Command } from 'commander';
import { runBench } from '../../../bench/run.js';
import type { GlobalOptions } from '../context.js';

/** `tally bench`: every stage against its ceiling and real peers, one run, bench/report.json and bench/REPORT.md. */
export function benchCommand(): Command {
  return new Command('bench')
    .description('benchmarks: each stage against its physical ceiling (kcat, raw _bulk, parse-only, passthrough) and real peers (rsyslog, syslog-ng) on the same data in one run; writes bench/report.json and bench/REPORT.md (peers: bash bench/install-peers.sh)')
    .option('--quick', 'reduced sizes, no profiles: under 5 minutes')
    .option('--cases <list>', 'comma-separated case ids: ship, beats, transform, es-sink, apel-sink, e2e, startup')
    .option('--profile', 'add one profiled (node --cpu-prof) run of each Tally stage (default for the full run)')
    .option('--no-profile', 'skip the profiled runs')
    .option('--out <dir>', 'folder for report.json and REPORT.md (default bench/)')
    .action(async (options: { quick?: boolean; cases?: string; profile?: boolean; out?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const configFile = globals.config ?? process.env.TALLY_CONFIG;
      const cases = options.cases?.split(',').map((s) => s.trim()).filter(Boolean);
      await runBench({
        quick: options.quick === true,
        ...(cases?.length ? { cases } : {}),
        ...(options.profile !== undefined ? { profile: options.profile } : {}),
        ...(options.out ? { outDir: options.out } : {}),
        ...(configFile ? { configFile } : {}),
      });
    });
}
