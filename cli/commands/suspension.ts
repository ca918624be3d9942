import type { Command } from 'commander';
import { targetOptions, type CommandContext, type CommonOptions } from '../options';
import { runWorkflow } from '../workflow-run';

/** `tenantctl suspend TENANT` and `tenantctl resume TENANT`. */
export function suspensionCommands(program: Command, ctx: CommandContext): void {
  for (const action of ['suspend', 'resume'] as const)
    targetOptions(
      program
        .command(action)
        .description(
          action === 'suspend'
            ? 'Suspend a tenant: its API answers 503 (but /health) and its site says so; nothing is deleted'
            : 'Resume a suspended tenant: its API serves again, on the version it ran',
        )
        .argument('<tenantId>'),
    ).action(async (tenantId: string, options: CommonOptions) => {
      ctx.setExitCode(
        await runWorkflow(
          'suspension',
          { tenantId, action },
          action === 'suspend' ? 'Suspending' : 'Resuming',
          options,
        ),
      );
    });
}
