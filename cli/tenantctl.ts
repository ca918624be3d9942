import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionStatus,
} from '@aws-sdk/client-sfn';
import { ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Command, CommanderError, Option } from 'commander';
import { Client } from 'pg';
import { parseFaults, type Fault } from '../local/tasks/faults';
import { LocalPlatform } from '../local/platform';
import { startLocalServices, type LocalServices } from './services';
import { PlatformNames, tenantResourceNames } from '../common/names';
import { tenantIdSchema } from '../common/tenant-input';
import { getJsonSecret } from '../common/secrets';
import type { TenantSecret } from '../common/tenant-secret';
import { queryReleases } from '../workflow-tasks/records/release-ledger';
import { queryTenants, tenantView } from '../workflow-tasks/records/registry';
import { ConsoleHandler, ConsoleServer, type TenantSource } from '../console/server';
import { release, type ReleaseOptions } from './release';
import { inBatches } from '../common/in-batches';
import { confirmed, restoreInput, tenantsWithFunctions } from './offboard';
import { describeTenant } from './describe';
import { followExecution, fullHistory } from './follow';
import { errorMessage, executionSummary, progressPrinter } from './progress';
import { askTenantInput } from './prompt';
import {
  awsClientConfig,
  controlPlaneOf,
  readEndpoints,
  resolveTarget,
  resolveWorkflowTarget,
  type Target,
  type TargetOptions,
} from './target';

const DEFAULT_STATE_DIR = '.tenantctl';
const DEFAULT_PORT = 4566;
const DEFAULT_GATEWAY_PORT = 8084;
const EXAMPLES_DIR = join(__dirname, '..', 'examples', 'tenants');
const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

interface CommonOptions extends TargetOptions {
  readonly json?: boolean;
}

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const json = (value: unknown): void => out(JSON.stringify(value, null, 2));

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('tenantctl')
    .description(
      'Onboard SaaS tenants with one Step Functions execution each, on the local platform or on AWS.',
    )
    .exitOverride();
  const targetOptions = (command: Command) =>
    command
      .option('--state-dir <dir>', 'state directory of the local platform', DEFAULT_STATE_DIR)
      .option(
        '--aws',
        'talk to the deployed stack on AWS (normal credential chain) instead of the local platform',
      )
      .option(
        '--state-machine-arn <arn>',
        'with --aws: the state machine (default: the TenantPlatform stack output)',
      )
      .option('--stack <name>', 'with --aws: the platform stack', 'TenantPlatform')
      .option('--json', 'print JSON for scripts');

  program
    .command('up')
    .description('Run the local platform in the foreground until Ctrl-C / SIGTERM')
    .option('--state-dir <dir>', 'where the platform keeps its data', DEFAULT_STATE_DIR)
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
    .action(async (options: UpOptions) => {
      exitCode = await up(options);
    });

  targetOptions(
    program
      .command('onboard')
      .description('Onboard a tenant: from a JSON file, or asked field by field on a terminal')
      .argument('[file]', 'onboarding input: tenantId, companyName, adminEmail, tier, domain')
      .option('--local', 'run it on a one-shot embedded platform instead of the running one'),
  ).action(async (file: string | undefined, options: CommonOptions & { local?: boolean }) => {
    const input = file ? await readInput(file) : await interactiveInput();
    exitCode = options.local
      ? await onboardEmbedded(input, options)
      : await onboardThrough(await target(options), input, options);
  });

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

  targetOptions(
    program
      .command('admin-credentials')
      .description("The tenant admin's e-mail and initial password, read from the tenant's secret")
      .argument('<tenantId>'),
  ).action(async (tenantId: string, options: CommonOptions) => {
    const credentials = await adminCredentials(tenantId, options);
    if (options.json) return json(credentials);
    out(`e-mail    ${credentials.email}`);
    out(`password  ${credentials.password}`);
    out(
      '(the initial password: once the admin changes it with POST /auth/password, this one no longer works)',
    );
  });

  targetOptions(
    program
      .command('release')
      .description(
        "Roll the working tree's tenant API (code, migrations, frontend) out to every tenant: canary, then waves",
      )
      .option(
        '--version <version>',
        'release this version from the artifact bucket instead (a rollback, or --aws)',
      )
      .option('--canary <n>', 'tenants in the canary wave; any failure there stops the release (default 1)')
      .option('--concurrency <n>', 'tenants updated at once after the canary (default 4)')
      .option(
        '--max-failures <n>',
        'failed tenants tolerated after the canary; one more stops it (default 0)',
      )
      .option(
        '--wave-size <n>',
        'tenants per wave after the canary, one CloudFront invalidation each (default 100)',
      ),
  ).action(async (options: ReleaseOptions) => {
    exitCode = await release({ ...options, stateDir: resolve(options.stateDir) }, out);
  });

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
      exitCode = await runWorkflow(
        'suspension',
        { tenantId, action },
        action === 'suspend' ? 'Suspending' : 'Resuming',
        options,
      );
    });

  targetOptions(
    program
      .command('offboard')
      .description(
        'Offboard a tenant: suspend it, export its database to the archive bucket and verify it, then remove everything it had',
      )
      .argument('[tenantId]')
      .option('--all', 'offboard every tenant (asks for confirmation): what to run before `cdk destroy`')
      .option('--yes', 'with --all: do not ask')
      .option('--concurrency <n>', 'with --all: tenants offboarded at once (default 4)'),
  ).action(
    async (
      tenantId: string | undefined,
      options: CommonOptions & { all?: boolean; yes?: boolean; concurrency?: string },
    ) => {
      if (Boolean(tenantId) === Boolean(options.all))
        throw new Error('give a tenantId, or --all to offboard every tenant');
      exitCode = tenantId
        ? await runWorkflow('offboarding', { tenantId }, 'Offboarding', options)
        : await offboardAll(options);
    },
  );

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
    exitCode = await onboardThrough(await target(options), input, options);
  });

  program
    .command('console')
    .description(
      'The console (executions as graphs, tenants): the local platform serves it; with --aws, served here against your account',
    )
    .option('--state-dir <dir>', 'state directory of the local platform', DEFAULT_STATE_DIR)
    .option('--aws', "serve it on 127.0.0.1 against the AWS account's Step Functions API (your credentials)")
    .option('--port <n>', 'with --aws: the port on 127.0.0.1 (0: any free port)', '8085')
    .option('--stack <name>', 'with --aws: the platform stack', 'TenantPlatform')
    .action(async (options: { stateDir: string; aws?: boolean; port: string; stack?: string }) => {
      exitCode = await serveConsole(options);
    });

  program
    .command('releases')
    .description(
      'Releases, newest first: version, status, and how many tenants were updated, unchanged, failed',
    )
    .option('--state-dir <dir>', 'state directory of the local platform', DEFAULT_STATE_DIR)
    .option('--database-url <url>', "URL of the platform database (default: the local platform's)")
    .option('--json', 'print JSON for scripts')
    .action(async (options: { stateDir: string; databaseUrl?: string; json?: boolean }) => {
      const releases = await readRegistry(options, queryReleases);
      if (options.json) return json(releases);
      for (const r of releases)
        out(
          `${r.startedAt.toISOString()}  ${r.version}  ${r.status.padEnd(9)} ${r.updated} updated, ${r.unchanged} unchanged, ${r.failed} failed, ${r.notAttempted} not attempted  ${r.name}${r.stopReason ? `  (${r.stopReason})` : ''}`,
        );
    });

  program
    .command('tenants')
    .description(
      'The tenant registry: id, status, tier, domain, code and schema version, last release outcome, created',
    )
    .option('--state-dir <dir>', 'state directory of the local platform', DEFAULT_STATE_DIR)
    .option('--database-url <url>', "URL of the platform database (default: the local platform's)")
    .option('--json', 'print JSON for scripts')
    .option('--aws', "the deployed stack's registry, through its control-plane API (your credentials)")
    .option('--stack <name>', 'with --aws: the platform stack', 'TenantPlatform')
    .action(
      async (options: {
        stateDir: string;
        databaseUrl?: string;
        json?: boolean;
        aws?: boolean;
        stack?: string;
      }) => {
        const rows = options.aws
          ? await (await controlPlaneOf({ ...options, stateDir: resolve(options.stateDir) })).tenants()
          : (await readRegistry(options, queryTenants)).map(tenantView);
        if (options.json) return json(rows);
        for (const r of rows)
          out(
            `${r.tenantId.padEnd(33)} ${r.status.padEnd(16)} ${r.tier.padEnd(10)} ${(r.domain ?? '-').padEnd(30)} ${(r.codeVersion ?? '-').padEnd(17)} ${String(r.schemaVersion ?? '-').padEnd(4)} ${(r.lastRelease?.outcome ?? '-').padEnd(8)} ${r.created}`,
          );
      },
    );

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`tenantctl: ${(error as Error).message}\n`);
    return 2;
  }
  return exitCode;
}

/**
 * `tenantctl suspend|resume|offboard`: one execution of that workflow for one tenant, followed to its end
 * (`quiet`: only the final line, for `offboard --all`).
 */
async function runWorkflow(
  workflow: 'suspension' | 'offboarding',
  input: { tenantId: string; action?: string },
  verb: string,
  options: CommonOptions & { quiet?: boolean },
): Promise<number> {
  const { sfn, stateMachineArn } = await resolveWorkflowTarget(
    { ...options, stateDir: resolve(options.stateDir) },
    workflow,
  );
  const started = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
  );
  return followAndReport(sfn, started.executionArn ?? '', verb, input.tenantId.slice(0, 40), options);
}

/**
 * Follows an execution to its end, printing each state as it goes ("Onboarding shop-a (arn)" first), then
 * its outcome; `--json`: only the summary, `quiet`: only the outcome. Exit code 0 only on success.
 */
async function followAndReport(
  sfn: SFNClient,
  executionArn: string,
  verb: string,
  label: string,
  options: { json?: boolean; quiet?: boolean },
): Promise<number> {
  const say = (line: string) => {
    if (!options.json && !options.quiet) out(line);
  };
  say(`${verb} ${label} (${executionArn})`);
  const ended = await followExecution(
    sfn,
    executionArn,
    options.json || options.quiet ? () => undefined : progressPrinter(say),
  );
  report(label, ended, options);
  return ended.status === 'SUCCEEDED' ? 0 : 1;
}

/**
 * `tenantctl offboard --all`: every tenant with an API function, after a confirmation (`--yes` on a
 * script), `concurrency` at a time; one line per tenant. Exit 0 only when every one is offboarded.
 */
async function offboardAll(
  options: CommonOptions & { yes?: boolean; concurrency?: string },
): Promise<number> {
  const concurrency = Number(options.concurrency ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 20)
    throw new Error('--concurrency: must be a whole number from 1 to 20');
  const targetOptions = { ...options, stateDir: resolve(options.stateDir) };
  const tenants = await tenantsWithFunctions(targetOptions);
  if (tenants.length === 0) {
    out('No tenant to offboard.');
    return 0;
  }
  const where = options.aws ? 'on AWS' : 'on the local platform';
  const question = `Offboard all ${tenants.length} tenants ${where} (${tenants.slice(0, 10).join(', ')}${tenants.length > 10 ? ', ...' : ''})? Each is exported, then removed.`;
  if (!options.yes && !(await confirmed(question, `offboard ${tenants.length} tenants`))) {
    out(
      process.stdin.isTTY
        ? 'Nothing was offboarded.'
        : `${question}\nNothing was offboarded: pass --yes to confirm.`,
    );
    return 1;
  }
  const codes = await inBatches(tenants, concurrency, (tenantId) =>
    runWorkflow('offboarding', { tenantId }, 'Offboarding', { ...options, quiet: true }),
  );
  const failed = tenants.filter((_, i) => codes[i] !== 0);
  if (!options.json)
    out(
      `${tenants.length - failed.length} of ${tenants.length} tenants offboarded${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
    );
  return failed.length ? 1 : 0;
}

function target(options: CommonOptions): Promise<Target> {
  return resolveTarget({ ...options, stateDir: resolve(options.stateDir) });
}

async function readInput(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

async function interactiveInput(): Promise<unknown> {
  if (!process.stdin.isTTY)
    throw new Error('give an input FILE (fields are asked one by one only on a terminal)');
  return askTenantInput(process.stdin, process.stdout);
}

function tenantLabel(input: unknown): string {
  const tenantId = (input as { tenantId?: unknown } | null)?.tenantId;
  return typeof tenantId === 'string' ? tenantId.slice(0, 40) : 'tenant';
}

/**
 * StartExecution named `onboard-<tenantId>`. When that name is taken by an onboarding that failed, the retry
 * is `onboard-<tenantId>-2`, `-3`, ...; one that succeeded or still runs is reported, not repeated.
 */
async function startOnboarding(target: Target, input: unknown): Promise<string> {
  const label = tenantLabel(input);
  const base = /^[a-z0-9-]{1,60}$/.test(label) ? `onboard-${label}` : undefined;
  for (let attempt = 1; ; attempt++) {
    const name = base && attempt > 1 ? `${base}-${attempt}` : base;
    try {
      const started = await target.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: target.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      return started.executionArn ?? '';
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists) || !name) throw error;
      const executionArn = `${target.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      const previous = await target.sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (previous.status === 'SUCCEEDED' || previous.status === 'RUNNING') {
        throw new Error(
          `${label}: execution ${name} is ${previous.status}: see \`tenantctl execution ${executionArn}\``,
          {
            cause: error,
          },
        );
      }
    }
  }
}

/** StartExecution on the target, then live progress from its history. Exit code 0 only on success. */
async function onboardThrough(target: Target, input: unknown, options: { json?: boolean }): Promise<number> {
  const executionArn = await startOnboarding(target, input);
  return followAndReport(target.sfn, executionArn, 'Onboarding', tenantLabel(input), options);
}

function report(label: string, e: DescribeExecutionCommandOutput, options: { json?: boolean }): void {
  const record = {
    status: (e.status ?? 'FAILED') as 'SUCCEEDED',
    executionArn: e.executionArn ?? '',
    startDate: e.startDate ?? new Date(),
    stopDate: e.stopDate,
    output: e.output ? (JSON.parse(e.output) as unknown) : undefined,
    error: e.error,
    cause: e.cause,
  };
  if (options.json) return json(executionSummary(record));
  const seconds = ((e.stopDate ?? new Date()).getTime() - (e.startDate ?? new Date()).getTime()) / 1000;
  if (e.status === 'SUCCEEDED') out(`${label}: SUCCEEDED in ${seconds.toFixed(1)} s`);
  else
    out(
      `${label}: ${e.status ?? ''} after ${seconds.toFixed(1)} s: ${e.error ?? ''}: ${errorMessage(e.cause)}`,
    );
}

/** `onboard --local`: a one-shot embedded platform, started and stopped around one onboarding. */
async function onboardEmbedded(
  input: unknown,
  options: { stateDir: string; json?: boolean },
): Promise<number> {
  const stateDir = resolve(options.stateDir);
  const faults = await loadFaults(undefined);
  process.stderr.write(`Starting the local platform (state in ${stateDir})…\n`);
  const interrupt = interruptOnSignals();
  try {
    const platform = await startOrInterrupted(
      () => LocalPlatform.start({ stateDir, faults, signal: interrupt.signal }),
      interrupt.signal,
    );
    if (!platform) return 130;
    try {
      const label = tenantLabel(input);
      if (!options.json) out(`Onboarding ${label}`);
      const run = platform.runExecution(input, { onEvent: options.json ? undefined : progressPrinter(out) });
      const record = await Promise.race([run, interrupt.received]);
      if (typeof record === 'string') return 130; // interrupted: stopping the platform stops the execution
      if (options.json) json(executionSummary(record));
      else {
        const seconds = ((record.stopDate ?? new Date()).getTime() - record.startDate.getTime()) / 1000;
        out(
          record.status === 'SUCCEEDED'
            ? `${label}: SUCCEEDED in ${seconds.toFixed(1)} s`
            : `${label}: ${record.status} after ${seconds.toFixed(1)} s: ${record.error ?? ''}: ${errorMessage(record.cause)}`,
        );
      }
      return record.status === 'SUCCEEDED' ? 0 : 1;
    } finally {
      await platform.stop();
    }
  } finally {
    interrupt.dispose();
  }
}

/** `tenantctl up`: the local platform in the foreground, stopped cleanly by Ctrl-C or SIGTERM. */
interface UpOptions {
  readonly stateDir: string;
  readonly port: string;
  readonly gatewayPort?: string;
  readonly demo?: boolean;
  readonly faults?: string;
}

/** Faults from `--faults FILE`, else from the TENANTCTL_FAULTS environment variable, else none. */
async function loadFaults(file: string | undefined): Promise<Fault[]> {
  const source = file ? `--faults ${file}` : 'TENANTCTL_FAULTS';
  let text: string | undefined;
  try {
    text = file ? await readFile(file, 'utf8') : process.env.TENANTCTL_FAULTS;
  } catch (error) {
    throw new Error(`${source}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  }
  if (!text) return [];
  let faults: Fault[];
  try {
    faults = parseFaults(text);
  } catch (error) {
    throw new Error(
      `${source}: ${(error as Error).message}. Expected a JSON list of { tenantId, step, kind, times }; see the README's "Fault injection".`,
      { cause: error },
    );
  }
  process.stderr.write(`Injecting ${faults.length} fault(s) into the task handlers.\n`);
  return faults;
}

/** A port given on the command line: a whole number from 0 (any free port) to 65535. */
function portOption(flag: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new Error(
      `${flag} must be a port number from 0 (any free port) to 65535, got ${JSON.stringify(value)}`,
    );
  return port;
}

/**
 * Ctrl-C / SIGTERM while this process runs the platform: `signal` aborts a start under way, `received`
 * resolves to the signal so a running platform can be stopped. A second signal is not caught (it kills).
 */
function interruptOnSignals(): { signal: AbortSignal; received: Promise<NodeJS.Signals>; dispose(): void } {
  const controller = new AbortController();
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolveSignal) => {
    onSignal = (signal) => {
      controller.abort(new Error(`interrupted by ${signal}`));
      resolveSignal(signal);
    };
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    received,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
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
  const sfn = new SFNClient(await awsClientConfig({ stateDir: resolve(options.stateDir), aws: true }));
  const server = new ConsoleServer(
    new ConsoleHandler(sfn, await awsTenantSource(resolve(options.stateDir), options.stack)),
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
  }
}

/** The console's tenants on AWS: the stack's control-plane API, or why it cannot be reached. */
async function awsTenantSource(stateDir: string, stack: string | undefined): Promise<TenantSource> {
  try {
    const client = await controlPlaneOf({ stateDir, aws: true, stack });
    return { tenants: async () => (await client.tenants()).map((t) => ({ ...t })) };
  } catch (error) {
    return { unavailable: `The registry is not reachable: ${(error as Error).message}` };
  }
}

/** Runs a start; undefined when it was interrupted (it has then stopped what it had started). */
async function startOrInterrupted<T>(start: () => Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  try {
    return await start();
  } catch (error) {
    if (!signal.aborted) throw error;
    process.stderr.write('tenantctl: interrupted while starting; everything it had started is stopped.\n');
    return undefined;
  }
}

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
  process.stderr.write(`Starting the local platform (state in ${stateDir})…\n`);
  const interrupt = interruptOnSignals();
  try {
    const services = await startOrInterrupted(
      () =>
        startLocalServices({
          stateDir,
          faults,
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
    try {
      await onboardThrough(t, input, {});
    } catch (error) {
      if (!(error instanceof Error && error.cause instanceof ExecutionAlreadyExists)) throw error;
      out(`${label}: already onboarded in this state directory`);
    }
    out(await describeTenant(t, label));
    out();
  }
}

/** `{ email, password }` of the admin seeded at onboarding, from the tenant's secret. */
async function adminCredentials(
  tenantId: string,
  options: CommonOptions,
): Promise<{ email: string; password: string }> {
  if (!tenantIdSchema.safeParse(tenantId).success)
    throw new Error(`tenantId: ${JSON.stringify(tenantId.slice(0, 80))} is not a tenant id`);
  const secrets = new SecretsManagerClient(
    await awsClientConfig({ ...options, stateDir: resolve(options.stateDir) }),
  );
  try {
    const { secretName } = tenantResourceNames(tenantId);
    const secret = await getJsonSecret<Partial<TenantSecret>>(secrets, secretName);
    if (!secret.adminEmail || !secret.adminPassword)
      throw new Error(
        `${tenantId}: secret ${secretName} has no admin credentials (onboarded by an older version?)`,
      );
    return { email: secret.adminEmail, password: secret.adminPassword };
  } catch (error) {
    if (error instanceof ResourceNotFoundException)
      throw new Error(
        `${tenantId}: no such tenant (secret ${tenantResourceNames(tenantId).secretName} does not exist)`,
        {
          cause: error,
        },
      );
    throw error;
  } finally {
    secrets.destroy();
  }
}

/** The registry, read from the platform database (the local platform's, or `--database-url`). */
/** Reads the registry (tenants, releases) from the platform database; nothing yet is an empty list. */
async function readRegistry<T>(
  options: { stateDir: string; databaseUrl?: string },
  query: (client: Client) => Promise<T[]>,
): Promise<T[]> {
  const url =
    options.databaseUrl ??
    withDatabase((await readEndpoints(resolve(options.stateDir))).postgres, PlatformNames.platformDatabase);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await query(client);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return []; // nothing registered yet
    throw error;
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
