/** `tally apel-queue` as the CLI runs it (global options, config, shutdown on SIGTERM), without main.ts's other commands. */
import { Command } from 'commander';
import { apelQueueCommand } from '../../../../app/cli/commands/apel-queue.js';
import { collect } from '../../../../app/cli/context.js';

const program = new Command('tally').option('-c, --config <file>').option('--set <key=value>', 'override', collect).option('--log-level <level>');
program.addCommand(apelQueueCommand());
await program.parseAsync(process.argv);
