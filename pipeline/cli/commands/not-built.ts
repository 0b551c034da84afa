import { Command } from 'commander';
import { TallyError } from '../../errors.js';

/** A command the design names whose stage is not built yet: it says so and which issue builds it. */
export function notBuiltCommand(name: string, description: string, builtBy: string, configure: (command: Command) => Command = (c) => c): Command {
  const command = new Command(name).description(`${description} (not built yet: ${builtBy})`).allowUnknownOption(true).allowExcessArguments(true);
  return configure(command).action(() => {
    throw new TallyError('NOT_BUILT', `tally ${name} is not built yet; it arrives with ${builtBy}`);
  });
}
