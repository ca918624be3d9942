import { resolve } from 'node:path';
import type { Command } from 'commander';
import { inBatches } from '../../common/in-batches';
import { confirmed, tenantsWithFunctions } from '../offboard';
import { out, targetOptions, type CommandContext, type CommonOptions } from '../options';
import { runWorkflow } from '../workflow-run';

/** `tenantctl offboard TENANT` and `tenantctl offboard --all [--yes] [--concurrency N]`. */
export function offboardCommand(program: Command, ctx: CommandContext): void {
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
      ctx.setExitCode(
        tenantId
          ? await runWorkflow('offboarding', { tenantId }, 'Offboarding', options)
          : await offboardAll(options),
      );
    },
  );
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
  const tenants = await tenantsWithFunctions({ ...options, stateDir: resolve(options.stateDir) });
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
