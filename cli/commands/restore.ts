import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { exportsOf, restoreInput } from '../offboard';
import { json, out, targetOptions, type CommandContext, type CommonOptions } from '../options';
import { onboardThrough, target } from '../workflow-run';

/** `tenantctl restore TENANT [--as ID] [--tier shared|dedicated] [--export KEY]`, and `tenantctl exports TENANT`. */
export function restoreCommand(program: Command, ctx: CommandContext): void {
  targetOptions(
    program
      .command('restore')
      .description(
        'Onboard an offboarded tenant again from its latest export: its data, users and passwords; --tier moves it between tiers',
      )
      .argument('<tenantId>')
      .option('--as <tenantId>', 'restore it under another tenant id (the original stays offboarded)')
      .option(
        '--export <key>',
        'restore this verified export instead of the latest (tenantctl exports lists them)',
      )
      .addOption(
        new Option('--tier <tier>', 'the tier to restore it on (default: the one it had)').choices([
          'shared',
          'dedicated',
        ]),
      )
      .option(
        '--no-snapshot',
        "load the export even when a dedicated tenant's final snapshot could bring its instance back",
      ),
  ).action(
    async (
      tenantId: string,
      options: CommonOptions & { as?: string; tier?: string; export?: string; snapshot: boolean },
    ) => {
      const input = await restoreInput(tenantId, { ...options, stateDir: resolve(options.stateDir) });
      if (input.fromSnapshot && !options.json)
        out(
          `${tenantId}: its instance comes back from the final snapshot its offboarding kept (newer than ${String(input.restoreFrom)}); --no-snapshot loads the export instead`,
        );
      ctx.setExitCode((await onboardThrough(await target(options), input, options)).exitCode);
    },
  );
  targetOptions(
    program
      .command('exports')
      .description("A tenant's verified exports, oldest first: what restore --export can restore")
      .argument('<tenantId>'),
  ).action(async (tenantId: string, options: CommonOptions) => {
    const found = await exportsOf(tenantId, { ...options, stateDir: resolve(options.stateDir) });
    if (options.json) return json(found);
    if (found.length === 0) return out(`${tenantId} has no verified export`);
    for (const e of found) {
      const rows = Object.values(e.rows ?? {}).reduce((sum, n) => sum + n, 0);
      out(
        `${e.key}  verified ${e.verifiedAt ?? '?'}  ${rows} rows  kept until ${e.retainUntil ?? '?'}${e.latest ? '  (latest)' : ''}`,
      );
    }
  });
}
