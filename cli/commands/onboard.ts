import { resolve } from 'node:path';
import type { Command } from 'commander';
import { LocalPlatform } from '../../local/platform';
import { interruptOnSignals, loadFaults, startOrInterrupted } from '../foreground';
import { json, out, targetOptions, type CommandContext, type CommonOptions } from '../options';
import { errorMessage, executionSummary, progressPrinter } from '../progress';
import { askTenantInput } from '../prompt';
import { tenantLabel } from '../attempts';
import { onboardThrough, readInput, target } from '../workflow-run';

/** `tenantctl onboard [file] [--local]`. */
export function onboardCommand(program: Command, ctx: CommandContext): void {
  targetOptions(
    program
      .command('onboard')
      .description('Onboard a tenant: from a JSON file, or asked field by field on a terminal')
      .argument('[file]', 'onboarding input: tenantId, companyName, adminEmail, tier, domain')
      .option('--local', 'run it on a one-shot embedded platform instead of the running one'),
  ).action(async (file: string | undefined, options: CommonOptions & { local?: boolean }) => {
    const input = file ? await readInput(file) : await interactiveInput();
    ctx.setExitCode(
      options.local
        ? await onboardEmbedded(input, options)
        : (await onboardThrough(await target(options), input, options)).exitCode,
    );
  });
}

/** The onboarding input asked field by field; only on a terminal. */
async function interactiveInput(): Promise<unknown> {
  if (!process.stdin.isTTY)
    throw new Error('give an input FILE (fields are asked one by one only on a terminal)');
  return askTenantInput(process.stdin, process.stdout);
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
