import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { LocalPlatform, type ExecutionRecord } from '../local/runtime';
import { describeTenant } from './describe';
import { errorMessage, executionSummary, progressPrinter } from './progress';

const DEFAULT_STATE_DIR = '.tenantctl';
const EXAMPLES_DIR = join(__dirname, '..', 'examples', 'tenants');

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('tenantctl')
    .description('Onboard SaaS tenants with one Step Functions execution each; locally or on AWS.')
    .exitOverride();

  program
    .command('onboard')
    .description('Onboard the tenant described by a JSON file')
    .argument('<file>', 'onboarding input: tenantId, companyName, adminEmail, tier, domain')
    .option('--local', 'run on the embedded local platform (the only target in this version)', true)
    .option('--state-dir <dir>', 'where the local platform keeps its data', DEFAULT_STATE_DIR)
    .option('--json', 'print one JSON object instead of progress')
    .action(async (file: string, options: { stateDir: string; json?: boolean }) => {
      const input = await readInput(file);
      exitCode = await withPlatform(resolve(options.stateDir), async (platform) => {
        const record = await onboard(platform, input, Boolean(options.json));
        if (options.json) process.stdout.write(`${JSON.stringify(executionSummary(record), null, 2)}\n`);
        return record.status === 'SUCCEEDED' ? 0 : 1;
      });
    });

  program
    .command('demo')
    .description('Bring up the local platform, onboard the example tenants and show what each one got')
    .option(
      '--state-dir <dir>',
      'keep the platform data here (default: a temporary directory, removed after)',
    )
    .action(async (options: { stateDir?: string }) => {
      const stateDir = options.stateDir
        ? resolve(options.stateDir)
        : await mkdtemp(join(tmpdir(), 'tenantctl-demo-'));
      try {
        exitCode = await withPlatform(stateDir, demo);
      } finally {
        if (!options.stateDir) await rm(stateDir, { recursive: true, force: true });
      }
    });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`tenantctl: ${(error as Error).message}\n`);
    return 2;
  }
  return exitCode;
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

/** Starts the local platform, runs `work`, and stops it again, also on Ctrl-C / SIGTERM. */
async function withPlatform(
  stateDir: string,
  work: (platform: LocalPlatform) => Promise<number>,
): Promise<number> {
  process.stderr.write(`Starting the local platform (state in ${stateDir})…\n`);
  const platform = await LocalPlatform.start({ stateDir });
  const onSignal = () => {
    process.stderr.write('\nStopping the local platform…\n');
    void platform.stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(platform);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await platform.stop();
  }
}

async function onboard(platform: LocalPlatform, input: unknown, quiet: boolean): Promise<ExecutionRecord> {
  const tenantId = (input as { tenantId?: unknown } | null)?.tenantId;
  const label = typeof tenantId === 'string' ? tenantId.slice(0, 40) : 'tenant';
  const say = (line: string) => {
    if (!quiet) process.stdout.write(`${line}\n`);
  };
  say(`Onboarding ${label}`);
  const record = await platform.runExecution(input, { onEvent: quiet ? undefined : progressPrinter(say) });
  const seconds = ((record.stopDate ?? new Date()).getTime() - record.startDate.getTime()) / 1000;
  if (record.status === 'SUCCEEDED') say(`${label}: SUCCEEDED in ${seconds.toFixed(1)} s`);
  else
    say(
      `${label}: ${record.status} after ${seconds.toFixed(1)} s: ${record.error ?? ''}: ${errorMessage(record.cause)}`,
    );
  return record;
}

async function demo(platform: LocalPlatform): Promise<number> {
  const files = (await readdir(EXAMPLES_DIR)).filter((f) => f.endsWith('.json')).sort();
  let failures = 0;
  for (const file of files) {
    const record = await onboard(platform, await readInput(join(EXAMPLES_DIR, file)), false);
    if (record.status !== 'SUCCEEDED') {
      failures += 1;
      continue;
    }
    process.stdout.write(`${await describeTenant(platform, record)}\n\n`);
  }
  process.stdout.write(
    failures === 0
      ? `All ${files.length} example tenants are live.\n`
      : `${failures} of ${files.length} example tenants failed.\n`,
  );
  return failures === 0 ? 0 : 1;
}
