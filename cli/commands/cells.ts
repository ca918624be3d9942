import { resolve } from 'node:path';
import type { Command } from 'commander';
import { keptCapacity } from '../../local/bootstrap/capacity';
import { cellViews, type CellView } from '../../workflow-tasks/records/capacity';
import { json, out, registryReadOptions, type RegistryReadOptions } from '../options';
import { controlPlaneOf, localControlPlane } from '../target';
import { readRegistry } from '../registry';
import { colourFor, statusTone, table } from '../table';

/**
 * `tenantctl cells [--aws]`: each cell's use against each limit, and its shared instances, as placement
 * goes by them: its settings, the quotas Service Quotas has applied to the account and the account's use
 * of them beside the tenants. Through the control-plane API: the running local platform's, or with `--aws`
 * the deployed stack's. A registry at `--database-url` is read against the settings kept in the state
 * directory (no account is read).
 */
export function cellsCommand(program: Command): void {
  registryReadOptions(
    program
      .command('cells')
      .description(
        "Each cell's use against each limit (tenants, connections, IAM roles, RDS instances, distribution tenants), where each limit comes from, and its shared instances' tenants and connections",
      ),
    'cells',
  ).action(async (options: RegistryReadOptions) => {
    const stateDir = resolve(options.stateDir);
    const views = options.aws
      ? await (await controlPlaneOf({ ...options, stateDir })).cells()
      : options.databaseUrl
        ? await keptCells({ stateDir, databaseUrl: options.databaseUrl })
        : await (await localControlPlane(stateDir)).cells();
    if (options.json) return json(views);
    const colour = colourFor();
    views.forEach((view, i) => {
      if (i > 0) out('');
      printCell(view, colour);
    });
  });
}

/** A registry's cells against the settings kept in the state directory (no account is read). */
async function keptCells(options: { stateDir: string; databaseUrl: string }): Promise<CellView[]> {
  const settings = await keptCapacity(options.stateDir);
  return readRegistry(options, (client) => cellViews(client, settings));
}

function printCell(view: CellView, colour: ReturnType<typeof colourFor>): void {
  out(`CELL ${view.cell}${view.account ? `  (AWS account ${view.account})` : ''}`);
  if (view.accountChange) out(`  nothing is placed or moved here: ${view.accountChange}`);
  for (const line of table(
    view.limits,
    [
      { header: 'LIMIT', cell: (l) => l.name },
      {
        header: 'IN USE',
        cell: (l) => `${l.inUse} / ${l.limit}${l.besideTenants ? ` (${l.besideTenants} not tenants')` : ''}`,
        tone: (l) => toneOf(l.inUse, l.limit),
      },
      { header: 'PER', cell: (l) => l.per },
      { header: 'FROM', cell: (l) => l.source },
      { header: 'WHAT', cell: (l) => l.what },
    ],
    colour,
  ))
    out(`  ${line}`);
  out('');
  for (const line of table(
    view.sharedInstances,
    [
      { header: 'SHARED INSTANCE', cell: (i) => i.id },
      { header: 'STATUS', cell: (i) => i.status, tone: (i) => statusTone(i.status) },
      {
        header: 'TENANTS',
        cell: (i) => `${i.tenants} / ${i.limit}`,
        tone: (i) => toneOf(i.tenants, i.limit),
      },
      {
        header: 'CONNECTIONS',
        cell: (i) => `${i.connections} / ${i.connectionLimit}`,
        tone: (i) => toneOf(i.connections, i.connectionLimit),
      },
      { header: 'ENDPOINT', cell: (i) => i.endpoint ?? '-' },
      { header: 'REASON', cell: (i) => i.reason ?? '' },
    ],
    colour,
  ))
    out(`  ${line}`);
}

/** Full is worth a colour; over the limit (a limit lowered below the use) more so. */
function toneOf(inUse: number, limit: number): 'bad' | 'busy' | undefined {
  if (inUse > limit) return 'bad';
  return inUse === limit ? 'busy' : undefined;
}
