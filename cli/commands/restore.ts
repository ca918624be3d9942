import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { restoreInput } from '../offboard';
import { targetOptions, type CommandContext, type CommonOptions } from '../options';
import { onboardThrough, target } from '../workflow-run';

/** `tenantctl restore TENANT [--as ID] [--tier shared|dedicated]`. */
export function restoreCommand(program: Command, ctx: CommandContext): void {
  targetOptions(
    program
      .command('restore')
      .description(
        'Onboard an offboarded tenant again from its latest export: its data, users and passwords; --tier moves it between tiers',
      )
      .argument('<tenantId>')
      .option('--as <tenantId>', 'restore it under another tenant id (the original stays offboarded)')
      .addOption(
        new Option('--tier <tier>', 'the tier to restore it on (default: the one it had)').choices([
          'shared',
          'dedicated',
        ]),
      ),
  ).action(async (tenantId: string, options: CommonOptions & { as?: string; tier?: string }) => {
    const input = await restoreInput(tenantId, { ...options, stateDir: resolve(options.stateDir) });
    ctx.setExitCode((await onboardThrough(await target(options), input, options)).exitCode);
  });
}
