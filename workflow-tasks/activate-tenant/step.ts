import { OnboardingError, PermanentErrors } from '../../common/errors';
import { domainRecords } from '../../common/domain-workflow';
import { requiredEnv } from '../../common/env';
import { EventTypes, TaskEnv } from '../../common/names';
import { publishEvent } from '../lib/events';
import { resultOf, tenantOf } from '../lib/handler';
import { setStatusIfOwned } from '../records/registry';
import type { StepResults, TaskEvent } from '../lib/types';

/**
 * Marks the tenant `ACTIVE` with the ids of what it got and, in the version ledger, the code and schema it
 * runs, then emits `TenantProvisioned`. The registry is written first: a consumer never hears of a tenant
 * the registry does not show as live.
 */
export async function run(event: TaskEvent): Promise<StepResults['activation']> {
  const tenant = tenantOf(event);
  const secret = resultOf(event, 'secret');
  const database = resultOf(event, 'database');
  const fn = resultOf(event, 'function');
  const frontend = resultOf(event, 'frontend');
  const resources = {
    secretArn: secret.secretArn,
    database: database.database,
    role: database.role,
    functionArn: fn.functionArn,
    apiId: fn.apiId,
    apiEndpoint: fn.apiEndpoint,
    apiUrl: frontend.apiUrl,
    domain: tenant.domain ?? null,
    sitePrefix: frontend.sitePrefix,
  };
  const versions = { codeVersion: fn.codeVersion, schemaVersion: resultOf(event, 'schema').schemaVersion };
  const owned = await setStatusIfOwned(tenant.tenantId, event.executionArn, 'ACTIVE', {
    resources,
    versions,
  });
  if (!owned) {
    throw new OnboardingError(
      PermanentErrors.RegistrationLost,
      `tenant ${tenant.tenantId} is no longer owned by this onboarding`,
    );
  }
  await publishEvent(EventTypes.TenantProvisioned, {
    tenantId: tenant.tenantId,
    executionArn: event.executionArn,
    ...resources,
  });
  // An imported customer's old app serves until its DNS moves: the records that move it (its domain's
  // workflow, started next, shows the same).
  const cutOver =
    tenant.importFrom && tenant.domain
      ? domainRecords(tenant.domain, requiredEnv(TaskEnv.routingEndpoint))
      : undefined;
  return { tenantId: tenant.tenantId, status: 'ACTIVE', ...(cutOver ? { cutOver } : {}) };
}
