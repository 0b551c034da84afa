import { CommanderError } from 'commander';
import { TallyError, isTallyError, messageOf } from '../../pipeline/errors.js';
import { buildProgram } from './program.js';

export async function main(argv: string[]): Promise<void> {
  try {
    const program = await buildProgram(argv.slice(2));
    program.exitOverride();
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    reportFatal(error);
  }
}

/**
 * A failed command exits, even when it left handles open (a producer, a client, a timer): a
 * stage that failed must not linger, its supervisor restarts it. Loggers flush on exit.
 */
function reportFatal(error: unknown): never {
  if (isTallyError(error)) {
    process.stderr.write(`tally: ${error.code}: ${error.message}\n`);
    process.exit(error.code === 'NOT_BUILT' ? 3 : error.code === 'USAGE' ? 2 : 1);
  }
  process.stderr.write(`tally: unexpected error: ${messageOf(error)}\n${error instanceof Error && error.stack ? error.stack : ''}\n`);
  process.exit(1);
}

export { TallyError };

await main(process.argv);
