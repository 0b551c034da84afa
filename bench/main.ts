import { isTallyError } from '../pipeline/errors.js';
import { runBench } from './run.js';

/**
 * `node dist/bench/main.js [--quick] [--cases a,b] [--profile|--no-profile] [--out dir] [-c config.yaml]`: the
 * same as `tally bench`, for `npm run bench` and before the CLI registers the command.
 */
export function parseBenchArgs(argv: string[]): Parameters<typeof runBench>[0] {
  const options: Parameters<typeof runBench>[0] = { quick: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const value = (): string => {
      const next = argv[i + 1];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      i += 1;
      return next;
    };
    if (arg === '--quick') options.quick = true;
    else if (arg === '--no-profile') options.profile = false;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--cases') options.cases = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (arg.startsWith('--cases=')) options.cases = arg.slice(8).split(',').map((s) => s.trim()).filter(Boolean);
    else if (arg === '--out') options.outDir = value();
    else if (arg === '-c' || arg === '--config') options.configFile = value();
    else throw new Error(`unknown argument ${arg}; usage: bench [--quick] [--cases a,b] [--profile|--no-profile] [--out dir] [-c config.yaml]`);
  }
  return options;
}

/** `--render <report.json> [--out dir]`: write REPORT.md again from a run's report.json (after bench/ANALYSIS.md changed) */
async function render(argv: string[]): Promise<void> {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const path = await import('node:path');
  const { renderMarkdown } = await import('./report.js');
  const file = argv[argv.indexOf('--render') + 1];
  if (!file) throw new Error('--render needs a report.json');
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 && argv[outIndex + 1] ? (argv[outIndex + 1] as string) : path.dirname(file);
  writeFileSync(path.join(out, 'REPORT.md'), renderMarkdown(JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof renderMarkdown>[0]));
  process.stdout.write(`wrote ${path.join(out, 'REPORT.md')}\n`);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/.*\/dist\//, '/dist/'));
if (invokedDirectly) {
  try {
    if (process.argv.includes('--render')) await render(process.argv.slice(2));
    else await runBench(parseBenchArgs(process.argv.slice(2)));
    process.exit(0);
  } catch (error) {
    process.stderr.write(`tally bench: ${isTallyError(error) ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
