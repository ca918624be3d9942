import type { Command } from 'commander';
import { queryReleases } from '../../workflow-tasks/records/release-ledger';
import { databaseUrlOption, json, jsonOption, out, stateDirOption } from '../options';
import { readRegistry } from '../registry';
import { colourFor, statusTone, table } from '../table';
import { relativeTime } from '../../common/relative-time';

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
      const now = new Date();
      const count = (n: number) => String(n);
      for (const line of table(
        releases,
        [
          { header: 'STARTED', cell: (r) => relativeTime(r.startedAt, now) },
          { header: 'VERSION', cell: (r) => r.version },
          { header: 'STATUS', cell: (r) => r.status, tone: (r) => statusTone(r.status) },
          { header: 'UPDATED', cell: (r) => count(r.updated) },
          { header: 'UNCHANGED', cell: (r) => count(r.unchanged) },
          {
            header: 'FAILED',
            cell: (r) => count(r.failed),
            tone: (r) => (r.failed > 0 ? 'bad' : undefined),
          },
          { header: 'NOT ATTEMPTED', cell: (r) => count(r.notAttempted) },
          { header: 'SKIPPED', cell: (r) => count(r.skipped) },
          { header: 'NAME', cell: (r) => `${r.name}${r.stopReason ? ` (${r.stopReason})` : ''}` },
        ],
        colourFor(),
      ))
        out(line);
    });
}
