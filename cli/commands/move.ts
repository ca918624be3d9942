import type { Command } from 'commander';
import { targetOptions, type CommandContext, type CommonOptions } from '../options';
import { runWorkflow } from '../workflow-run';

/** `tenantctl move TENANT --instance shared-<n>` or `--cell cell-<n>`. */
export function moveCommand(program: Command, ctx: CommandContext): void {
  targetOptions(
    program
      .command('move')
      .description(
        "Move a shared tenant to another shared instance or cell with its data: copied while it serves, suspended only for the copy's last part, verified, and put back where it was if anything fails",
      )
      .argument('<tenantId>')
      .option('--instance <id>', 'the shared instance to move it to (tenantctl cells lists them)')
      .option('--cell <id>', "another cell: it goes on that cell's oldest shared instance with a free place"),
  ).action(async (tenantId: string, options: CommonOptions & { instance?: string; cell?: string }) => {
    if ((options.instance === undefined) === (options.cell === undefined))
      throw new Error('give exactly one of --instance and --cell');
    ctx.setExitCode(
      await runWorkflow(
        'move',
        {
          tenantId,
          ...(options.instance ? { toInstance: options.instance } : { toCell: options.cell }),
        },
        'Moving',
        options,
      ),
    );
  });
}
