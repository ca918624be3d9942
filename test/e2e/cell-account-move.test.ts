import { GetDistributionTenantCommand } from '@aws-sdk/client-cloudfront';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { gatewayRequest } from '../../cli/describe';
import { capacitySettings } from '../../common/capacity';
import { MoveStates } from '../../common/move';
import { LocalPlatformNames, tenantResourceNames } from '../../common/names';
import type { TenantSecret } from '../../common/tenant-secret';
import type { ExecutionRecord } from '../../local/platform';
import { aws, awsIn } from '../../workflow-tasks/lib/aws';
import { readJsonSecret } from '../../workflow-tasks/lib/db';
import { tenantDomains } from '../../workflow-tasks/records/domains';
import { getTenant } from '../../workflow-tasks/records/registry';
import { addCustomerRecords } from '../fixtures/customer-dns';
import { cleanupAfter, reaching } from '../fixtures/executions';
import { domainWhen, localServicesForFile, tenantInput } from '../fixtures/platform';
import { EVERY_RESOURCE, NO_RESOURCE, resourcesIn } from '../fixtures/cell-resources';
import { seedShop, shopApi } from '../fixtures/tenant-api';

// cell-2 is an AWS account of its own; four tenants a cell: the first four are placed in cell-1 (one with
// its own domain), the one whose domain waits for its records in cell-2 (which brings its shared instance).
const CELL_ACCOUNT = '210987654321';
const QUOTAS = capacitySettings(
  { cells: 2, tenantsPerCell: 4, cellAccounts: { 'cell-2': CELL_ACCOUNT } },
  'test',
);
const shop = 'xa-shop';
const filler = 'xa-filler';
const failing = 'xa-fails';
const withDomain = 'xa-domain';
const domain = 'xa-domain.example.com';
const pending = 'xa-pending';
const pendingDomain = 'xa-pending.example.com';
const newPassword = 'a-password-the-admin-set-before-the-move';

// CloudFront takes minutes to deploy a distribution tenant's change; the local edge takes this long, and
// routes by the parameters before it until then.
const PROPAGATION_MS = 3000;
process.env.TENANTCTL_CLOUDFRONT_PROPAGATION_MS = String(PROPAGATION_MS);
afterAll(() => {
  delete process.env.TENANTCTL_CLOUDFRONT_PROPAGATION_MS;
});

const { running } = localServicesForFile('cell-account-move', {
  quotas: QUOTAS,
  faults: [
    // The switch happens, then fails: the rollback must undo it all, in both accounts.
    { tenantId: failing, step: 'move:switch', kind: 'after-effect', times: 1 },
    // The copy starts late: the execution is stopped while it waits, its API made in the cell's account.
    { tenantId: filler, step: 'move:copy', kind: 'slow', times: 1 },
  ],
});
const { api, signIn, changePassword } = shopApi(() => running().endpoints.gateway);
let products: unknown[] = [];
/** A token the admin got before any move: the token key moves with the secret. */
let tokenBefore = '';

function listed(response: { status: number; body: string }): unknown[] {
  if (response.status !== 200) throw new Error(`list: ${response.status} ${response.body}`);
  return (JSON.parse(response.body) as { items: unknown[] }).items;
}

function move(tenantId: string, toCell: string): Promise<ExecutionRecord> {
  const { platform } = running();
  return platform.runExecution({ tenantId, toCell }, { stateMachineArn: platform.stateMachines.move.arn });
}

/** The API the tenant's frontend is told to call. */
async function publishedApiUrl(tenantId: string): Promise<string> {
  const object = await aws().s3.send(
    new GetObjectCommand({
      Bucket: LocalPlatformNames.siteBucket,
      Key: `${tenantResourceNames(tenantId).sitePrefix}config.json`,
    }),
  );
  return (JSON.parse((await object.Body?.transformToString()) ?? '{}') as { apiUrl: string }).apiUrl;
}

beforeAll(async () => {
  const domains: Record<string, string> = { [withDomain]: domain, [pending]: pendingDomain };
  for (const tenantId of [shop, failing, filler, withDomain, pending]) {
    const own = domains[tenantId] ? { domain: domains[tenantId] } : {};
    const record = await running().platform.runExecution(tenantInput(tenantId, own));
    if (record.status !== 'SUCCEEDED') throw new Error(`onboarding ${tenantId}: ${record.cause ?? ''}`);
  }
  const token = await changePassword(shop, newPassword);
  tokenBefore = token;
  await seedShop((path, method, body) => api(shop, token, path, method, body));
  products = listed(await api(shop, token, '/products?limit=100'));
}, 240_000);

describe('a move to a cell in another AWS account', () => {
  it("takes the tenant's data, secret, function and API there, serves it from there, and leaves nothing behind", async () => {
    const before = await publishedApiUrl(shop);
    const moved = await move(shop, 'cell-2');
    expect([moved.status, moved.error, moved.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    const states = moved.events.flatMap((e) => e.stateEnteredEventDetails?.name ?? []);
    expect(states).toContain(MoveStates.deploy);
    expect(await getTenant(shop)).toMatchObject({
      status: 'ACTIVE',
      cell: 'cell-2',
      cellAccount: CELL_ACCOUNT,
    });

    expect(await resourcesIn(awsIn(CELL_ACCOUNT), shop)).toEqual(EVERY_RESOURCE);
    expect(await resourcesIn(awsIn(undefined), shop)).toEqual(NO_RESOURCE);
    // Its frontend calls the API in the cell's account now.
    const after = await publishedApiUrl(shop);
    expect(after).not.toBe(before);
    // Every row, and the password the admin set, served from the cell's account.
    const token = await signIn(shop, newPassword, CELL_ACCOUNT);
    expect(listed(await api(shop, token, '/products?limit=100'))).toEqual(products);
    expect(listed(await api(shop, tokenBefore, '/products?limit=100'))).toEqual(products);
    const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(shop).secretName, CELL_ACCOUNT);
    expect(secret.username).toBe(tenantResourceNames(shop).role);
    // The deploy in the cell's account went through the move's own roles' copies there.
    expect(
      running()
        .platform.iam?.denials()
        .map((d) => d.message),
    ).toEqual([]);
  });

  it("takes a tenant's own domain along: api.<domain> is passed to its API in the other account", async () => {
    const { platform, endpoints } = running();
    await addCustomerRecords(platform.endpointUrl, domain);
    await domainWhen(withDomain, domain, (d) => d?.status === 'ACTIVE', 60_000);
    const viaDomain = (token: string) =>
      gatewayRequest(endpoints.gateway, `api.${domain}`, '/products?limit=5', {
        headers: { authorization: `Bearer ${token}` },
      });
    const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(withDomain).secretName);
    const token = await signIn(withDomain, secret.adminPassword!);
    expect((await viaDomain(token)).status).toBe(200);

    // The domain is answered throughout: the source's API is removed only once the edge routes to the target's.
    const health: number[] = [];
    let moving = true;
    const probe = (async () => {
      while (moving) {
        health.push((await gatewayRequest(endpoints.gateway, `api.${domain}`, '/health')).status);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    // Probed for as long as the edge may still route by what it had before the move's end.
    const moved = await move(withDomain, 'cell-2').finally(() =>
      setTimeout(() => (moving = false), PROPAGATION_MS),
    );
    await probe;
    expect([moved.status, moved.error, moved.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(health.length).toBeGreaterThan(10);
    // 503 while suspended (the source's role cannot log in for the copy's last part); never an API that is gone.
    expect(health.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    expect(health.at(-1)).toBe(200);
    const states = moved.events.flatMap((e) => e.stateEnteredEventDetails?.name ?? []);
    expect(states).toContain(MoveStates.waitRouting);
    expect(await getTenant(withDomain)).toMatchObject({
      status: 'ACTIVE',
      cell: 'cell-2',
      cellAccount: CELL_ACCOUNT,
    });
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), withDomain)).toEqual(EVERY_RESOURCE);
    expect(await resourcesIn(awsIn(undefined), withDomain)).toEqual(NO_RESOURCE);
    // The API's distribution tenant names the API in the cell's account, which answers on the domain (the
    // one it named before is gone: still naming it, the domain would find no origin).
    const [row] = await tenantDomains(withDomain);
    expect(row).toMatchObject({ domain, status: 'ACTIVE' });
    const { DistributionTenant } = await aws().cloudfront.send(
      new GetDistributionTenantCommand({ Identifier: row?.distributionTenants.api ?? '' }),
    );
    const apiHost = DistributionTenant?.Parameters?.find((p) => p.Name === 'apiHost')?.Value;
    expect(apiHost).toBe(new URL(await publishedApiUrl(withDomain)).host);
    expect((await viaDomain(token)).status).toBe(200);
    expect(
      running()
        .platform.iam?.denials()
        .map((d) => d.message),
    ).toEqual([]);
  });

  it('refuses a tenant whose own domain is being attached, naming it, and changes nothing', async () => {
    expect((await tenantDomains(pending))[0]).toMatchObject({ status: 'PENDING_VALIDATION' });
    const refused = await move(pending, 'cell-1');
    expect([refused.status, refused.error]).toEqual(['FAILED', 'InvalidInput']);
    expect(refused.cause).toContain(
      `the target is in another AWS account, and ${pending}'s own domain is being attached or removed (${pendingDomain}: PENDING_VALIDATION)`,
    );
    expect(await getTenant(pending)).toMatchObject({
      status: 'ACTIVE',
      cell: 'cell-2',
      cellAccount: CELL_ACCOUNT,
    });
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), pending)).toEqual(EVERY_RESOURCE);
    expect(await resourcesIn(awsIn(undefined), pending)).toEqual(NO_RESOURCE);
  });

  it('brings it back to the platform account the same way', async () => {
    const back = await move(shop, 'cell-1');
    expect([back.status, back.error, back.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(await getTenant(shop)).toMatchObject({ status: 'ACTIVE', cell: 'cell-1', cellAccount: null });
    expect(await resourcesIn(awsIn(undefined), shop)).toEqual(EVERY_RESOURCE);
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), shop)).toEqual(NO_RESOURCE);
    const token = await signIn(shop, newPassword);
    expect(listed(await api(shop, token, '/products?limit=100'))).toEqual(products);
  });

  it('that fails after switching leaves the tenant serving where it was, and nothing in the other account', async () => {
    const before = await publishedApiUrl(failing);
    const failed = await move(failing, 'cell-2');
    expect([failed.status, failed.error]).toEqual(['FAILED', 'InjectedFault']);
    const states = failed.events.flatMap((e) => e.stateEnteredEventDetails?.name ?? []);
    expect(states).toContain(MoveStates.undoDeploy);
    expect(await getTenant(failing)).toMatchObject({ status: 'ACTIVE', cell: 'cell-1', cellAccount: null });
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), failing)).toEqual(NO_RESOURCE);
    expect(await resourcesIn(awsIn(undefined), failing)).toEqual(EVERY_RESOURCE);
    expect(await publishedApiUrl(failing)).toBe(before);
    const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(failing).secretName);
    const token = await signIn(failing, secret.adminPassword!);
    expect((await api(failing, token, '/products?limit=100')).status).toBe(200);
  });

  it('stopped while it copies, is put back by the cleanup, its API in the other account removed', async () => {
    const { platform } = running();
    const started = await platform.startExecution(
      { tenantId: filler, toCell: 'cell-2' },
      { stateMachineArn: platform.stateMachines.move.arn },
    );
    await reaching(platform, started.executionArn, MoveStates.copy);
    // Made in the cell's account already, before the copy.
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), filler)).toEqual(EVERY_RESOURCE);
    await platform.stopExecution(started.executionArn);
    const cleanup = await cleanupAfter(platform, started.executionArn, 60_000);
    expect([cleanup.status, cleanup.error ?? null, cleanup.cause ?? null]).toEqual(['SUCCEEDED', null, null]);
    expect(await getTenant(filler)).toMatchObject({ status: 'ACTIVE', cell: 'cell-1', cellAccount: null });
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), filler)).toEqual(NO_RESOURCE);
    expect(await resourcesIn(awsIn(undefined), filler)).toEqual(EVERY_RESOURCE);
    const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(filler).secretName);
    const token = await signIn(filler, secret.adminPassword!);
    expect((await api(filler, token, '/products?limit=5')).status).toBe(200);
  });
});
