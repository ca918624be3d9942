import type { Command } from 'commander';
import { targetOptions, type CommandContext, type CommonOptions } from '../options';
import { runWorkflow } from '../workflow-run';

/** `tenantctl move TENANT --instance shared-<n>`. */
export function moveCommand(program: Command, ctx: CommandContext): void {
  targetOptions(
    program
      .command('move')
      .description(
        'Move a shared tenant to another shared instance with its data: suspended only for the copy, verified, and put back where it was if anything fails',
      )
      .argument('<tenantId>')
      .requiredOption('--instance <id>', 'the shared instance to move it to (tenantctl cells lists them)'),
  ).action(async (tenantId: string, options: CommonOptions & { instance: string }) => {
    ctx.setExitCode(await runWorkflow('move', { tenantId, toInstance: options.instance }, 'Moving', options));
  });
}
