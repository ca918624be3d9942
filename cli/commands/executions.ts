import { ListExecutionsCommand, type ExecutionStatus } from '@aws-sdk/client-sfn';
import { type Command, Option } from 'commander';
import { json, out, targetOptions, type CommonOptions } from '../options';
import { target } from '../workflow-run';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/** `tenantctl executions [--status S]`. */
export function executionsCommand(program: Command): void {
  targetOptions(
    program
      .command('executions')
      .description('List onboarding executions, newest first')
      .addOption(new Option('--status <status>', 'only executions with this status').choices(STATUSES)),
  ).action(async (options: CommonOptions & { status?: ExecutionStatus }) => {
    const { sfn, stateMachineArn } = await target(options);
    const { executions = [] } = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: options.status, maxResults: 1000 }),
    );
    if (options.json) return json(executions);
    for (const e of executions) {
      out(
        `${e.status?.padEnd(10)} ${e.startDate?.toISOString() ?? ''}  ${e.name ?? ''}  ${e.executionArn ?? ''}`,
      );
    }
  });
}
