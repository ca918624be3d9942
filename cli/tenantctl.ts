import { Command, CommanderError } from 'commander';
import { adminCredentialsCommand } from './commands/admin-credentials';
import { cellsCommand } from './commands/cells';
import { consoleCommand } from './commands/console';
import { domainCommand } from './commands/domain';
import { executionCommand } from './commands/execution';
import { executionsCommand } from './commands/executions';
import { importCommand } from './commands/import';
import { moveCommand } from './commands/move';
import { offboardCommand } from './commands/offboard';
import { onboardCommand } from './commands/onboard';
import { releaseCommand } from './commands/release';
import { releasesCommand } from './commands/releases';
import { restoreCommand } from './commands/restore';
import { suspensionCommands } from './commands/suspension';
import { tenantsCommand } from './commands/tenants';
import { upCommand } from './commands/up';
import type { CommandContext } from './options';

/** The commands, in the order `tenantctl --help` lists them. */
const COMMANDS: ((program: Command, ctx: CommandContext) => void)[] = [
  upCommand,
  onboardCommand,
  importCommand,
  executionsCommand,
  executionCommand,
  adminCredentialsCommand,
  releaseCommand,
  suspensionCommands,
  offboardCommand,
  restoreCommand,
  moveCommand,
  domainCommand,
  consoleCommand,
  releasesCommand,
  tenantsCommand,
  cellsCommand,
];

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('tenantctl')
    .description(
      'Onboard SaaS tenants with one Step Functions execution each, on the local platform or on AWS.',
    )
    .exitOverride()
    // A command's options are its own, not a parent's of the same name (`domain attach ... --state-dir`).
    .enablePositionalOptions();
  const ctx: CommandContext = {
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  for (const register of COMMANDS) register(program, ctx);

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const message = (error as Error).message;
    // With --json, scripts read one JSON object on stderr, as they read one on stdout.
    process.stderr.write(
      argv.includes('--json')
        ? `${JSON.stringify({ error: message, exitCode: 2 })}\n`
        : `tenantctl: ${message}\n`,
    );
    return 2;
  }
  return exitCode;
}
