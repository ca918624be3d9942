import { tenantResourceNames } from '../../common/names';
import type { TenantSecret } from '../../common/tenant-secret';
import { LocalGateway } from '../../local/gateway/gateway';
import { waitFor } from '../../local/processes/ports';
import type { ExecutionRecord, LocalPlatform } from '../../local/platform';
import { readJsonSecret } from '../../workflow-tasks/lib/db';
import { getTenant } from '../../workflow-tasks/records/registry';
import { checkedGatewayRequest, ContractChecker } from '../fixtures/api-contract';
import { eventSpy, type PlatformEvent } from '../fixtures/event-spy';
import { startTestPlatform, tenantInput } from '../fixtures/platform';

const shop = 'paused-shop';
const flaky = 'flaky-shop';
// After "Announce suspension" has emitted its event, it fails once: the suspension must be undone.
const faults = [
  { tenantId: flaky, step: 'suspension:announce-suspended', kind: 'after-effect' as const, times: 1 },
];

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let gateway: LocalGateway;
let gatewayUrl: string;
let spy: Awaited<ReturnType<typeof eventSpy>>;
let token = '';
/** Every request to a tenant API here is checked against its OpenAPI document, suspended or not. */
const contract = new ContractChecker();

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({ faults }));
  gateway = new LocalGateway(platform);
  gatewayUrl = `http://127.0.0.1:${await gateway.listen(0)}`;
  spy = await eventSpy();
  for (const tenantId of [shop, flaky]) {
    const record = await platform.runExecution(tenantInput(tenantId));
    if (record.status !== 'SUCCEEDED') throw new Error(`onboarding ${tenantId}: ${record.cause ?? ''}`);
  }
  const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(shop).secretName);
  const login = await request(shop, '/auth/login', 'POST', {
    email: secret.adminEmail,
    password: secret.adminPassword,
  });
  token = (JSON.parse(login.body) as { token: string }).token;
  const created = await request(shop, '/products', 'POST', {
    sku: 'KEPT-1',
    name: 'Kept',
    priceCents: 500,
    stock: 2,
  });
  if (created.status !== 201) throw new Error(`creating a product: ${created.body}`);
}, 120_000);

afterAll(async () => {
  spy?.close();
  await gateway?.close();
  await cleanup?.();
});

function request(tenantId: string, path: string, method = 'GET', body?: unknown) {
  return checkedGatewayRequest(contract, gatewayUrl, `api.${tenantId}.localhost`, path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

function suspension(tenantId: string, action: string): Promise<ExecutionRecord> {
  return platform.runExecution(
    { tenantId, action },
    { stateMachineArn: platform.stateMachines.suspension.arn },
  );
}

/** The status `GET /products` answers with once the gateway has seen where `live` points (within a second). */
async function productsStatus(tenantId: string, expected: number): Promise<number> {
  let status = 0;
  await waitFor(
    `${tenantId} to answer ${expected}`,
    async () => {
      status = (await request(tenantId, '/products')).status;
      return status === expected;
    },
    5_000,
  ).catch(() => undefined);
  return status;
}

async function eventsOf(type: string): Promise<PlatformEvent[]> {
  return (await spy.events()).filter((e) => e['detail-type'] === type);
}

describe('suspending a tenant', () => {
  it('makes its API answer 503 tenant-suspended on every route but /health and /openapi.json, and keeps everything', async () => {
    const record = await suspension(shop, 'suspend');
    expect(record.status).toBe('SUCCEEDED');
    expect(await getTenant(shop)).toMatchObject({ status: 'SUSPENDED' });
    expect(await productsStatus(shop, 503)).toBe(503);
    const refused = await request(shop, '/orders', 'POST', { lines: [] });
    expect(refused.status).toBe(503);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(refused.body)).toMatchObject({
      type: 'https://errors.tenant-platform.dev/tenant-suspended',
      status: 503,
    });
    const health = await request(shop, '/health');
    expect([health.status, JSON.parse(health.body)]).toEqual([
      200,
      { tenantId: shop, database: 'ok', schemaVersion: 3, suspended: true },
    ]);
    // The contract is no tenant data: it is served while suspended too.
    const document = await request(shop, '/openapi.json');
    expect([document.status, (JSON.parse(document.body) as { openapi: string }).openapi]).toEqual([
      200,
      '3.1.0',
    ]);
    await waitFor('TenantSuspended', async () => (await eventsOf('TenantSuspended')).length > 0, 10_000);
  }, 60_000);

  it('refuses to suspend it again, or a tenant that does not exist, or a bad request, changing nothing', async () => {
    const again = await suspension(shop, 'suspend');
    expect([again.status, again.error]).toEqual(['FAILED', 'TenantStateConflict']);
    expect(again.cause).toContain(`${shop} is SUSPENDED; only an ACTIVE tenant can be suspended`);
    const unknown = await suspension('no-such-shop', 'suspend');
    expect([unknown.error, unknown.cause]).toEqual([
      'TenantStateConflict',
      expect.stringContaining('there is no tenant no-such-shop'),
    ]);
    const resumeActive = await suspension(flaky, 'resume');
    expect(resumeActive.cause).toContain(`${flaky} is ACTIVE; only a SUSPENDED tenant can be resumed`);
    const bad = await suspension('Bad Shop', 'pause');
    expect(bad.error).toBe('InvalidInput');
    expect(bad.cause).toContain('tenantId: must be lower-case letters');
    expect(bad.cause).toContain('action: must be \\"suspend\\" or \\"resume\\"');
    expect((await getTenant(shop))?.status).toBe('SUSPENDED');
    expect((await getTenant(flaky))?.status).toBe('ACTIVE');
  }, 60_000);

  it('resumes: the API serves the data it had', async () => {
    const record = await suspension(shop, 'resume');
    expect(record.status).toBe('SUCCEEDED');
    expect(await getTenant(shop)).toMatchObject({ status: 'ACTIVE' });
    expect(await productsStatus(shop, 200)).toBe(200);
    const products = JSON.parse((await request(shop, '/products')).body) as { items: { sku: string }[] };
    expect(products.items.map((p) => p.sku)).toEqual(['KEPT-1']);
    expect(JSON.parse((await request(shop, '/health')).body)).toMatchObject({ suspended: false });
    await waitFor('TenantResumed', async () => (await eventsOf('TenantResumed')).length > 0, 10_000);
  }, 60_000);

  it('is undone when a step after the switch fails: the tenant is ACTIVE and serving', async () => {
    const record = await suspension(flaky, 'suspend');
    expect([record.status, record.error]).toEqual(['FAILED', 'InjectedFault']);
    expect(record.events.map((e) => e.stateEnteredEventDetails?.name).filter(Boolean)).toEqual(
      expect.arrayContaining(['Rollback: switch back', 'Rollback: mark active']),
    );
    expect((await getTenant(flaky))?.status).toBe('ACTIVE');
    expect(JSON.parse((await request(flaky, '/health')).body)).toMatchObject({ suspended: false });
    expect(await productsStatus(flaky, 401)).toBe(401); // serving again: it asks for its own token
  }, 60_000);
});
