import type { Command } from 'commander';
import { queryReleases } from '../../workflow-tasks/records/release-ledger';
import { databaseUrlOption, json, jsonOption, out, stateDirOption } from '../options';
import { readRegistry } from '../registry';

/** `tenantctl releases`. */
export function releasesCommand(program: Command): void {
  program
    .command('releases')
    .description(
      'Releases, newest first: version, status, and how many tenants were updated, unchanged, failed',
    )
    .addOption(stateDirOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .action(async (options: { stateDir: string; databaseUrl?: string; json?: boolean }) => {
      const releases = await readRegistry(options, queryReleases);
      if (options.json) return json(releases);
      for (const r of releases)
        out(
          `${r.startedAt.toISOString()}  ${r.version}  ${r.status.padEnd(9)} ${r.updated} updated, ${r.unchanged} unchanged, ${r.failed} failed, ${r.notAttempted} not attempted  ${r.name}${r.stopReason ? `  (${r.stopReason})` : ''}`,
        );
    });
}
