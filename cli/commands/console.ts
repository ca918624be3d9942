import { resolve } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import type { TenantSource } from '../../console/registry';
import { ConsoleHandler, ConsoleServer } from '../../console/server';
import { interruptOnSignals, portOption } from '../foreground';
import { awsOption, out, stackOption, stateDirOption, type CommandContext } from '../options';
import {
  awsClientConfig,
  controlPlaneOf,
  readEndpoints,
  resolveAllWorkflows,
  type TargetOptions,
} from '../target';

/** `tenantctl console [--aws] [--port N]`. */
export function consoleCommand(program: Command, ctx: CommandContext): void {
  program
    .command('console')
    .description(
      'The console (executions as graphs, tenants): the local platform serves it; with --aws, served here against your account',
    )
    .addOption(stateDirOption())
    .addOption(
      awsOption("serve it on 127.0.0.1 against the AWS account's Step Functions API (your credentials)"),
    )
    .option('--port <n>', 'with --aws: the port on 127.0.0.1 (0: any free port)', '8085')
    .addOption(stackOption())
    .action(async (options: { stateDir: string; aws?: boolean; port: string; stack?: string }) => {
      ctx.setExitCode(await serveConsole(options));
    });
}

/**
 * `tenantctl console`: locally the URL the platform serves it at; with `--aws` a console of its own on
 * 127.0.0.1, a client of the account's Step Functions API (read-only but for starting executions), until
 * Ctrl-C / SIGTERM.
 */
async function serveConsole(options: {
  stateDir: string;
  aws?: boolean;
  port: string;
  stack?: string;
}): Promise<number> {
  if (!options.aws) {
    out((await readEndpoints(resolve(options.stateDir))).console);
    return 0;
  }
  const port = portOption('--port', options.port);
  const target = { stateDir: resolve(options.stateDir), aws: true, stack: options.stack };
  const config = await awsClientConfig(target);
  const sfn = new SFNClient(config);
  const cloudwatch = new CloudWatchClient(config);
  const server = new ConsoleServer(
    new ConsoleHandler(sfn, await awsTenantSource(target.stateDir, options.stack), {
      workflows: await workflowsOf(target, sfn),
      cloudwatch,
      awsRegion: await sfn.config.region(),
    }),
  );
  const interrupt = interruptOnSignals();
  try {
    const listening = await server.listen(port).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        error.code === 'EADDRINUSE'
          ? `port ${port} is taken: pass --port with a free one (0: any)`
          : error.message,
      );
    });
    out(`Console (AWS, ${await sfn.config.region()}): http://localhost:${listening}/  (Ctrl-C to stop)`);
    await interrupt.received;
    return 0;
  } finally {
    interrupt.dispose();
    await server.close();
    sfn.destroy();
    cloudwatch.destroy();
  }
}

/**
 * The stack's state machines by workflow (its outputs); without them, every state machine of the account by
 * its name (the console still shows them; the tenant actions need the stack's).
 */
async function workflowsOf(target: TargetOptions, sfn: SFNClient): Promise<Record<string, string>> {
  try {
    const { sfn: lookup, stateMachines } = await resolveAllWorkflows(target);
    lookup.destroy();
    return stateMachines;
  } catch {
    const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
    return Object.fromEntries(stateMachines.map((m) => [m.name ?? '', m.stateMachineArn ?? '']));
  }
}

/** The console's tenants on AWS: the stack's control-plane API, or why it cannot be reached. */
async function awsTenantSource(stateDir: string, stack: string | undefined): Promise<TenantSource> {
  try {
    const client = await controlPlaneOf({ stateDir, aws: true, stack });
    return {
      tenants: async () => (await client.tenants()).map((t) => ({ ...t })),
      tenant: (tenantId) => client.tenant(tenantId),
      releases: () => client.releases(),
    };
  } catch (error) {
    return { unavailable: `The registry is not reachable: ${(error as Error).message}` };
  }
}
