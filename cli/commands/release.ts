import { resolve } from 'node:path';
import type { Command } from 'commander';
import { targetOptions, out, type CommandContext } from '../options';
import { release, type ReleaseOptions } from '../release';

/** `tenantctl release [--version V] [--canary N] [--concurrency C] [--max-failures F] [--wave-size W]`. */
export function releaseCommand(program: Command, ctx: CommandContext): void {
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
    ctx.setExitCode(await release({ ...options, stateDir: resolve(options.stateDir) }, out));
  });
}
