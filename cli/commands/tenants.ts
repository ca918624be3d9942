import { resolve } from 'node:path';
import type { Command } from 'commander';
import { queryTenants, tenantView } from '../../workflow-tasks/records/registry';
import { awsOption, databaseUrlOption, json, jsonOption, out, stackOption, stateDirOption } from '../options';
import { readRegistry } from '../registry';
import { controlPlaneOf } from '../target';

/** `tenantctl tenants [--aws]`: the registry, one line per tenant. */
export function tenantsCommand(program: Command): void {
  program
    .command('tenants')
    .description(
      'The tenant registry: id, status, tier, domain, code and schema version, last release outcome, created',
    )
    .addOption(stateDirOption())
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .addOption(awsOption("the deployed stack's registry, through its control-plane API (your credentials)"))
    .addOption(stackOption())
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
}
