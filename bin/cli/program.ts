/**
 * The `cirrus` command line on commander: one program, each command group registered from its
 * own file under bin/commands/ (a new group is one more file and one more line in COMMANDS).
 * Commander generates `--help` at every level and refuses an option the command does not
 * declare; `--json` is the one global output switch. Everything ends in `runCli`'s exit code:
 * 0 done (or help asked for), 1 the command failed, 2 the command line was wrong.
 */
import { Command, CommanderError } from 'commander';
import { CliUsageError } from '../cli-io.ts';
import { registerAccountCommands } from '../commands/accounts.ts';
import { registerAuditCommand } from '../commands/audit.ts';
import { registerGcCommand } from '../commands/gc.ts';
import { registerImmutabilityCommands } from '../commands/immutability.ts';
import { registerMemberCommands } from '../commands/members.ts';
import { registerProjectCommands } from '../commands/projects.ts';
import { registerReplicationCommands } from '../commands/replication.ts';
import { registerRetentionCommands } from '../commands/retention.ts';

/** Help lists the groups in this order. */
const COMMANDS: Array<(program: Command) => void> = [
  registerProjectCommands,
  registerAccountCommands,
  registerMemberCommands,
  registerAuditCommand,
  registerGcCommand,
  registerRetentionCommands,
  registerImmutabilityCommands,
  registerReplicationCommands,
];

const STORE_NOTE = `
The store is the one npm start would use: CIRRUS_DATA_DIR (default ./.cirrus-data), or
CIRRUS_BACKEND=aws with CIRRUS_TABLE. Every change is audited.`;

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processOutput: CliOutput = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

export function createProgram(output: CliOutput = processOutput): Command {
  // Settings made before `.command()` are inherited by every subcommand.
  const program = new Command('cirrus')
    .description('administer a Cirrus registry: access control, garbage collection, retention, immutable tags, replication')
    .option('--json', 'machine-readable output: one JSON document on stdout')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: output.stdout,
      writeErr: output.stderr,
      // One prefix for every error the CLI prints, commander's and the commands'.
      outputError: (text, write) => write(text.replace(/^error: /, 'cirrus: ')),
    })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText('after', STORE_NOTE);
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs one command line (without `node` and the script) and says how the process should exit. */
export async function runCli(argv: string[], output: CliOutput = processOutput): Promise<number> {
  try {
    await createProgram(output).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    // Commander has already written its message, or the help: exit code 0 when help was asked
    // for (`--help`, `help <command>`), else the command line was wrong (or incomplete).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    output.stderr(`cirrus: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof CliUsageError ? 2 : 1;
  }
}
