import { resolve } from 'node:path';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { domainView, tenantDomainsOn, type DomainView } from '../../workflow-tasks/records/domains';
import { domainSchema } from '../../common/tenant-input';
import { startAttempt } from '../attempts';
import { errorMessage } from '../progress';
import {
  checkedTenantId,
  databaseUrlOption,
  json,
  out,
  targetOptions,
  type CommandContext,
  type CommonOptions,
} from '../options';
import { readRegistry } from '../registry';
import { controlPlaneOf, resolveWorkflowTarget } from '../target';
import { runWorkflow } from '../workflow-run';

type DomainOptions = CommonOptions & { databaseUrl?: string; wait?: boolean };

const POLL_MS = 500;

/**
 * `tenantctl domain TENANT` (where its domain is), `domain attach|change TENANT DOMAIN` (start the domain
 * workflow, print the records to add; `--wait` until it is ACTIVE or FAILED) and `domain detach TENANT`.
 */
export function domainCommand(program: Command, ctx: CommandContext): void {
  const domain = targetOptions(
    program
      .command('domain')
      .description(
        "A customer's own domain: its status (PENDING_VALIDATION, ACTIVE, FAILED, REMOVING), the DNS records to add, what was last seen",
      )
      .argument('<tenantId>')
      .addOption(databaseUrlOption()),
  ).action(async (tenantId: string, options: DomainOptions) => {
    const domains = await domainsOf(tenantId, options);
    if (options.json) return json(domains);
    if (domains.length === 0) return out(`${tenantId} has no domain: it is served on its platform address`);
    for (const domain of domains) printDomain(domain);
  });
  for (const verb of ['attach', 'change'] as const)
    targetOptions(
      domain
        .command(verb)
        .description(
          verb === 'attach'
            ? "Attach a customer's domain: certificates requested, the records to add printed; served once they resolve"
            : 'Change the domain: the old one keeps serving until the new one is active, then it is removed',
        )
        .argument('<tenantId>')
        .argument('<domain>')
        .addOption(databaseUrlOption())
        .option('--wait', 'follow the workflow until the domain is ACTIVE or FAILED'),
    ).action(async (tenantId: string, name: string, options: DomainOptions) => {
      ctx.setExitCode(await attach(tenantId, name, options));
    });
  targetOptions(
    domain
      .command('detach')
      .description("Detach the tenant's domain: its distribution tenants and certificates are removed")
      .argument('<tenantId>'),
  ).action(async (tenantId: string, options: CommonOptions) => {
    ctx.setExitCode(
      await runWorkflow('domain', { tenantId, action: 'detach' }, 'Detaching the domain of', options),
    );
  });
}

/**
 * Starts the attach, then waits until the records are known (the domain PENDING_VALIDATION with its first
 * check done), it is ACTIVE, or the execution ended (refused, failed; with `--wait`, until it ends).
 */
async function attach(tenantId: string, name: string, options: DomainOptions): Promise<number> {
  checkedTenantId('tenantId', tenantId);
  // Refused here, before any execution starts, as the workflow's claim would refuse it.
  const domain = domainSchema.safeParse(name);
  if (!domain.success) throw new Error(`domain: ${domain.error.issues.map((i) => i.message).join('; ')}`);
  const { sfn, stateMachineArn } = await resolveWorkflowTarget(
    { ...options, stateDir: resolve(options.stateDir) },
    'domain',
  );
  const executionArn = await startAttempt(sfn, stateMachineArn, 'domain-attach', { tenantId, domain: name });
  if (!options.json) out(`Attaching ${name} to ${tenantId} (${executionArn})`);
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const record = (await domainsOf(tenantId, options)).find(
      (d) => d.domain === name && d.executionArn === executionArn,
    );
    const ended = execution.status !== 'RUNNING';
    const shown =
      record && (record.status === 'ACTIVE' || (record.status === 'PENDING_VALIDATION' && record.checkedAt));
    if (ended || (shown && !options.wait)) return report(sfn, executionArn, record, options);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function report(
  sfn: SFNClient,
  executionArn: string,
  record: DomainView | undefined,
  options: DomainOptions,
): Promise<number> {
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const failed = execution.status !== 'RUNNING' && execution.status !== 'SUCCEEDED';
  if (options.json)
    json({
      executionArn,
      status: execution.status,
      ...(record ? { domain: record } : {}),
      ...(failed ? { error: execution.error, message: errorMessage(execution.cause) } : {}),
    });
  else if (failed && !record)
    out(`refused: ${execution.error ?? ''}: ${errorMessage(execution.cause) ?? ''}`);
  else if (record) printDomain(record);
  return failed ? 1 : 0;
}

/** The tenant's domains: from the local registry, or with `--aws` through the control-plane API. */
async function domainsOf(tenantId: string, options: DomainOptions): Promise<DomainView[]> {
  checkedTenantId('tenantId', tenantId);
  const target = { ...options, stateDir: resolve(options.stateDir) };
  if (options.aws) return (await (await controlPlaneOf(target)).tenant(tenantId))?.domains ?? [];
  const records = await readRegistry(target, (client) => tenantDomainsOn(client, tenantId));
  return records.map(domainView);
}

function printDomain(d: DomainView): void {
  out(`${d.displayName === d.domain ? d.domain : `${d.displayName} (${d.domain})`}  ${d.status}`);
  if (d.status === 'PENDING_VALIDATION') {
    out(`  add these records at the DNS provider of ${d.domain} before ${d.deadline}:`);
    for (const r of d.records) out(`    ${r.name}  ${r.type}  ${r.value}${r.note ? `  (${r.note})` : ''}`);
  }
  const seen = d.lastSeen as { names?: { name: string; status: string; reason?: string }[] } | null;
  if (d.status === 'PENDING_VALIDATION' && seen?.names) {
    out(`  last checked ${d.checkedAt ?? '-'}:`);
    for (const n of seen.names) out(`    ${n.name}: ${n.reason ?? n.status}`);
  }
  if (d.reason) out(`  ${d.reason}`);
}
