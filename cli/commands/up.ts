import { readdir, readFile } from 'node:fs/promises';
import { parseCapacitySettings, type CapacitySettings } from '../../common/capacity';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { localCellAccounts } from '../../local/account';
import { getTenant } from '../../workflow-tasks/records/registry';
import { describeTenant } from '../describe';
import { interruptOnSignals, loadFaults, portOption, startOrInterrupted } from '../foreground';
import { DEFAULT_STATE_DIR, out, stateDirOption, type CommandContext } from '../options';
import { startLocalServices, type LocalServices } from '../services';
import { resolveTarget } from '../target';
import { tenantLabel } from '../attempts';
import { onboardThrough, readInput } from '../workflow-run';

const DEFAULT_PORT = 4566;
const DEFAULT_GATEWAY_PORT = 8084;
const EXAMPLES_DIR = join(__dirname, '..', '..', 'examples', 'tenants');

/** `tenantctl up`. */
export function upCommand(program: Command, ctx: CommandContext): void {
  program
    .command('up')
    .description('Run the local platform in the foreground until Ctrl-C / SIGTERM')
    .addOption(stateDirOption('where the platform keeps its data'))
    .option(
      '--port <n>',
      'port of the AWS endpoint: Step Functions, EventBridge, RDS, Lambda and the emulator behind (0: any free port)',
      String(DEFAULT_PORT),
    )
    .option(
      '--gateway-port <n>',
      `port of the tenant gateway (default: ${DEFAULT_GATEWAY_PORT}, or 0 with --port 0)`,
    )
    .option('--demo', 'also onboard the example tenants and print their URLs')
    .option('--faults <file>', 'inject faults into the task handlers (JSON list; or TENANTCTL_FAULTS)')
    .option(
      '--quotas <file>',
      'the limits tenants are placed within (JSON: tenantsPerSharedInstance, tenantsPerCell, connectionsPerSharedInstance, connectionsPerTenant, iamRoles, rdsDbInstances, cloudFrontDistributionTenants, sharedInstanceHeadroom, cells); kept for the next start',
    )
    .addOption(
      new Option(
        '--iam <mode>',
        "authorize every AWS call of a task against its role's synthesized policy (default: on, or TENANTCTL_IAM)",
      ).choices(['on', 'off']),
    )
    .action(async (options: UpOptions) => {
      ctx.setExitCode(await up(options));
    });
}

/** The options of `tenantctl up`. */
interface UpOptions {
  readonly stateDir: string;
  readonly port: string;
  readonly gatewayPort?: string;
  readonly demo?: boolean;
  readonly faults?: string;
  readonly quotas?: string;
  readonly iam?: 'on' | 'off';
}

/** `tenantctl up`: the local platform in the foreground, stopped cleanly by Ctrl-C or SIGTERM. */
async function up(options: UpOptions): Promise<number> {
  const stateDir = resolve(options.stateDir);
  const port = portOption('--port', options.port);
  const gatewayPort =
    options.gatewayPort !== undefined
      ? portOption('--gateway-port', options.gatewayPort)
      : port === 0
        ? 0
        : DEFAULT_GATEWAY_PORT;
  const faults = await loadFaults(options.faults);
  const quotas = options.quotas ? await loadQuotas(options.quotas) : undefined;
  process.stderr.write(`Starting the local platform (state in ${stateDir})…\n`);
  const interrupt = interruptOnSignals();
  try {
    const services = await startOrInterrupted(
      () =>
        startLocalServices({
          stateDir,
          faults,
          quotas,
          iam: options.iam === undefined ? undefined : options.iam === 'on',
          port,
          gatewayPort,
          signal: interrupt.signal,
          log: (line) => process.stderr.write(`${line}\n`),
        }),
      interrupt.signal,
    );
    if (!services) return 130;
    try {
      printEndpoints(stateDir, services);
      if (options.demo) await Promise.race([demo(stateDir), interrupt.received]);
      if (!interrupt.signal.aborted) out('Press Ctrl-C to stop.');
      await interrupt.received;
      return 0;
    } finally {
      process.stderr.write('Stopping the local platform…\n');
      await services.stop();
    }
  } finally {
    interrupt.dispose();
  }
}

/** `--quotas FILE`: read and checked before anything starts (a bad file names the field and starts nothing). */
async function loadQuotas(file: string): Promise<CapacitySettings> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(
      `--quotas ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: error,
      },
    );
  }
  // Each cell an account of the emulator of its own, unless the file says where (`"cellAccounts": {}`: none).
  return parseCapacitySettings(text, `--quotas ${file}`, localCellAccounts);
}

function printEndpoints(stateDir: string, { endpoints, platform }: LocalServices): void {
  out(`Local platform is up (state in ${stateDir}):`);
  out(`  AWS endpoint                      ${endpoints.aws}`);
  out(
    `    Step Functions, EventBridge, RDS and Lambda Invoke answered here; the rest is forwarded to ${platform.emulator.endpoint}`,
  );
  out(`  console                           ${endpoints.console}`);
  out(`  tenant gateway                    ${endpoints.gateway}`);
  out(`  state machine                     ${endpoints.stateMachineArn}`);
  out(`  endpoints                         ${join(stateDir, 'endpoints.json')}`);
  for (const note of platform.postgres.notes) out(`  ${note}`);
  out();
  out('Try:');
  out(
    `  export AWS_ENDPOINT_URL=${endpoints.aws} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=${endpoints.region}`,
  );
  out(`  aws stepfunctions list-executions --state-machine-arn ${endpoints.stateMachineArn}`);
  out(
    // aws CLI v1 sends `aws rds` in us-east-1 to its fixed host whatever AWS_ENDPOINT_URL says.
    `  aws rds describe-db-instances --endpoint-url ${endpoints.aws} --query 'DBInstances[].[DBInstanceIdentifier,DBInstanceStatus,Endpoint.Port]'`,
  );
  out(
    `  npm run tenantctl -- onboard examples/tenants/bookstore.json${stateDir === resolve(DEFAULT_STATE_DIR) ? '' : ` --state-dir ${stateDir}`}`,
  );
  out();
}

/** Onboards the example tenants through the Step Functions API and prints where each one answers. */
async function demo(stateDir: string): Promise<void> {
  const t = await resolveTarget({ stateDir });
  const files = (await readdir(EXAMPLES_DIR)).filter((f) => f.endsWith('.json')).sort();
  for (const file of files) {
    const input = await readInput(join(EXAMPLES_DIR, file));
    const label = tenantLabel(input);
    // A start in a state directory that has them already shows them again: the platform serves them.
    const onboarded = await getTenant(label);
    if (onboarded?.status === 'ACTIVE' || onboarded?.status === 'SUSPENDED') {
      out(`${label}: already onboarded in this state directory`);
      out(await describeTenant(t, onboarded.executionArn, label));
    } else {
      const { executionArn } = await onboardThrough(t, input, {});
      out(await describeTenant(t, executionArn, label));
    }
    out();
  }
}
