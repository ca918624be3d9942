import { randomBytes } from 'node:crypto';
import { domainExecutionName } from '../../common/domain-workflow';
import { DEDICATED_INSTANCE, STEPS } from '../../common/steps';
import { inCell } from '../../workflow-tasks/lib/aws';
import { pointTenantSecretAt } from '../../workflow-tasks/lib/tenant-db';
import { describeInstance } from '../../workflow-tasks/create-database/step';
import {
  addedInstances,
  instanceOfTenant,
  recordInstanceAddress,
} from '../../workflow-tasks/records/capacity';
import { PermanentErrors } from '../../common/errors';
import { STEP_HANDLERS } from '../../workflow-tasks';
import { currentTenantApi, readTenantApiVersion } from '../../workflow-tasks/lib/artifact';
import { suspendAgain } from '../../workflow-tasks/suspension/steps';
import { pendingDomains } from '../../workflow-tasks/records/domains';
import { listTenants, type TenantRecord } from '../../workflow-tasks/records/registry';
import type { OnboardingState, StepResults } from '../../workflow-tasks/lib/types';

/**
 * The AWS emulator keeps nothing across restarts while PostgreSQL (databases, registry, executions) does.
 * On start, every ACTIVE or SUSPENDED tenant's resources are put back into the emulator by running its
 * onboarding steps again, as its own execution: they are idempotent, so what exists is kept and what is
 * missing is re-created (the tenants' secrets are kept on disk and put back first, so their credentials
 * stay; one missing is re-created with new ones, which "Create database" gives the role),
 * at the tenant API version the ledger says it runs; a suspended tenant is then suspended again. Returns
 * the tenant ids.
 */
async function isUploaded(version: string): Promise<boolean> {
  return readTenantApiVersion(version).then(
    () => true,
    (error: Error) => {
      if (error.name === PermanentErrors.VersionNotFound) return false;
      throw error;
    },
  );
}

/**
 * The shared instances add-capacity made are local RDS servers, whose ports are new each start, and whose
 * managed secrets the emulator got again under new ARNs (the local RDS's instances are up by now): the
 * registry is told where they answer and where their secrets are.
 */
async function recordSharedInstances(): Promise<void> {
  for (const { id, rdsInstanceId, cellAccount } of await addedInstances()) {
    const instance = await inCell(cellAccount, () => describeInstance(rdsInstanceId));
    const [host, port, masterSecretArn] = [
      instance?.Endpoint?.Address,
      instance?.Endpoint?.Port,
      instance?.MasterUserSecret?.SecretArn,
    ];
    if (host && port && masterSecretArn) await recordInstanceAddress(id, { host, port, masterSecretArn });
  }
}

export async function restoreActiveTenants(): Promise<string[]> {
  await recordSharedInstances();
  const restored: string[] = [];
  for (const tenant of await listTenants()) {
    if (tenant.status !== 'ACTIVE' && tenant.status !== 'SUSPENDED') continue;
    // Its resources are put back in its cell's account (common/cells.ts).
    const account = tenant.cellAccount ?? undefined;
    await inCell(account, () => restoreTenant(tenant, account));
    restored.push(tenant.id);
  }
  return restored;
}

/** Runs the tenant's onboarding steps again (restoreActiveTenants), in its cell. */
async function restoreTenant(tenant: TenantRecord, account: string | undefined): Promise<void> {
  let state: OnboardingState = {
    tenantId: tenant.id,
    companyName: tenant.companyName,
    adminEmail: tenant.adminEmail,
    tier: tenant.tier,
    ...(tenant.domain ? { domain: tenant.domain } : {}),
  };
  for (const step of STEPS) {
    // The registry row is already this execution's and ACTIVE: claiming it again is not restoring it. The
    // tenant gets back the version the ledger says it runs (a release may have moved it off the current one).
    if (step.id === 'register-tenant') {
      const tenantApiVersion =
        tenant.codeVersion && (await isUploaded(tenant.codeVersion))
          ? tenant.codeVersion
          : (await currentTenantApi()).version;
      const sharedInstance = tenant.tier === 'shared' ? await instanceOfTenant(tenant.id) : undefined;
      const registration = {
        tenantId: tenant.id,
        status: 'PROVISIONING' as const,
        executionArn: tenant.executionArn,
        tenantApiVersion,
        cell: tenant.cell,
        ...(account ? { cellAccount: account } : {}),
        ...(sharedInstance ? { sharedInstance } : {}),
      };
      state = { ...state, results: { ...state.results, registration } };
      continue;
    }
    // A suspended tenant stays SUSPENDED (and announced nothing new).
    if (step.id === 'activate-tenant' && tenant.status === 'SUSPENDED') continue;
    // Its domain is in the registry and its distribution tenants on disk (local/cloudfront/): a request
    // interrupted by the restart is asked for again once executions run (resumeDomainRequests).
    if (step.id === 'attach-domain') continue;
    const event = { executionArn: tenant.executionArn, state };
    const result = await STEP_HANDLERS[step.id].run(event);
    state = { ...state, results: { ...state.results, [step.resultKey]: result } };
    const placed = state.results?.registration?.sharedInstance;
    // A kept secret (local/secretsmanager/) names the shared instance as it was at the start before, whose
    // port was another: it is pointed at this start's. (A dedicated tenant's is pointed at its instance by the
    // check.)
    if (step.id === 'store-secret' && placed) await pointTenantSecretAt(tenant.id, account, placed);
    if (step.id === 'create-database' && tenant.tier === 'dedicated') {
      // The instance is up again (the platform waits for its RDS instances before this): one check
      // gives the tenant's role the password of its re-created secret and points the secret at it.
      const { check } = DEDICATED_INSTANCE;
      const checked = (await STEP_HANDLERS[check.id].run({
        executionArn: tenant.executionArn,
        state,
      })) as StepResults['instance'];
      state = { ...state, results: { ...state.results, [check.resultKey]: checked } };
    }
  }
  if (tenant.status === 'SUSPENDED') await suspendAgain(tenant.id, tenant.executionArn);
}

/**
 * A domain request the restart interrupted (its execution failed as `PlatformRestarted`) is asked for again:
 * a new execution of the domain workflow takes the pending domain over, keeping its distribution tenants
 * and its deadline's clock restarted.
 */
export async function resumeDomainRequests(
  start: (input: { tenantId: string; domain: string }, name: string) => Promise<unknown>,
): Promise<void> {
  for (const { tenantId, domain } of await pendingDomains())
    await start(
      { tenantId, domain },
      domainExecutionName(tenantId, 'attach', randomBytes(6).toString('hex')),
    );
}
