import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { fullHistory } from '../follow';
import { json, out, targetOptions, type CommonOptions } from '../options';
import { errorMessage, progressPrinter } from '../progress';
import { target } from '../workflow-run';

/** `tenantctl execution ARN`. */
export function executionCommand(program: Command): void {
  targetOptions(
    program.command('execution').description("An execution's status and history").argument('<executionArn>'),
  ).action(async (executionArn: string, options: CommonOptions) => {
    const { sfn } = await target(options);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const events = await fullHistory(sfn, executionArn);
    if (options.json) return json({ ...described, $metadata: undefined, events });
    out(
      `${described.name ?? ''}: ${described.status ?? ''}${described.error ? ` (${described.error}: ${errorMessage(described.cause)})` : ''}`,
    );
    const print = progressPrinter(out);
    events.forEach(print);
  });
}
