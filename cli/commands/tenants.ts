import { resolve } from 'node:path';
import type { Command } from 'commander';
import { queryTenants, tenantView } from '../../workflow-tasks/records/registry';
import { json, out, registryReadOptions, type RegistryReadOptions } from '../options';
import { readRegistry } from '../registry';
import { controlPlaneOf } from '../target';
import { colourFor, statusTone, table } from '../table';
import { relativeTime } from '../../common/relative-time';

/** `tenantctl tenants [--aws]`: the registry, one line per tenant. */
export function tenantsCommand(program: Command): void {
  registryReadOptions(
    program
      .command('tenants')
      .description(
        'The tenant registry: id, status, tier, domain, database instance, code and schema version, last release outcome, created',
      ),
    'registry',
  ).action(async (options: RegistryReadOptions) => {
    const rows = options.aws
      ? await (await controlPlaneOf({ ...options, stateDir: resolve(options.stateDir) })).tenants()
      : (await readRegistry(options, queryTenants)).map(tenantView);
    if (options.json) return json(rows);
    const now = new Date();
    for (const line of table(
      rows,
      [
        { header: 'TENANT', cell: (r) => r.tenantId },
        { header: 'STATUS', cell: (r) => r.status, tone: (r) => statusTone(r.status) },
        { header: 'TIER', cell: (r) => r.tier },
        { header: 'DOMAIN', cell: (r) => r.domain ?? '-' },
        // Its cell, and a shared tenant's instance there (tenantctl cells); a dedicated one has its own.
        { header: 'CELL', cell: (r) => r.cell },
        { header: 'INSTANCE', cell: (r) => r.dbInstance ?? (r.tier === 'dedicated' ? 'own' : '-') },
        { header: 'CODE', cell: (r) => r.codeVersion ?? '-' },
        { header: 'SCHEMA', cell: (r) => String(r.schemaVersion ?? '-') },
        {
          header: 'LAST RELEASE',
          cell: (r) => r.lastRelease?.outcome ?? '-',
          tone: (r) => statusTone(r.lastRelease?.outcome),
        },
        { header: 'CREATED', cell: (r) => relativeTime(r.created, now) },
      ],
      colourFor(),
    ))
      out(line);
  });
}
