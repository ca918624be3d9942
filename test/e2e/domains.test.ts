import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { GetDistributionTenantByDomainCommand } from '@aws-sdk/client-cloudfront';
import { LOCAL_ROUTING_ENDPOINT } from '../../local/cloudfront/saas-manager';
import { startLocalServices, type LocalServices } from '../../cli/services';
import type { ExecutionRecord, LocalPlatform } from '../../local/platform';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EventTypes, PlatformNames } from '../../common/names';
import { aws, isNotFound } from '../../workflow-tasks/lib/aws';
import { tenantDomains, type DomainRecord } from '../../workflow-tasks/records/domains';
import { getTenant } from '../../workflow-tasks/records/registry';
import { addCustomerRecords } from '../fixtures/customer-dns';
import { domainWhen, tenantInput, uniqueTenantId } from '../fixtures/platform';
import { tenantctl } from '../fixtures/processes';
import { makeStateDir } from '../fixtures/state-dir';

// A short, local deadline for the customer's records (the workflow reads it at start).
const DEADLINE_S = 15;
process.env.TENANTCTL_DOMAIN_TIMEOUT_S = String(DEADLINE_S);

let stateDir: string;
let services: LocalServices;
let platform: LocalPlatform;
let gatewayPort = 0;

beforeAll(async () => {
  stateDir = await makeStateDir('domains');
  services = await startLocalServices({ stateDir, port: 0, gatewayPort: 0 });
  platform = services.platform;
  gatewayPort = Number(new URL(services.endpoints.gateway).port);
}, 120_000);

afterAll(async () => {
  await services?.stop();
  await rm(stateDir, { recursive: true, force: true });
  delete process.env.TENANTCTL_DOMAIN_TIMEOUT_S;
});

function get(host: string, path = '/'): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const headers = { host: `${host}:${gatewayPort}` };
    const req = request({ host: '127.0.0.1', port: gatewayPort, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, location: res.headers.location ?? undefined }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function domainRun(input: unknown): Promise<ExecutionRecord> {
  return platform.runExecution(input, { stateMachineArn: platform.stateMachines.domain.arn });
}

/** The tenant's row for `domain` once `done` holds of it (the customer's deadline and some). */
function domainReaches(
  tenantId: string,
  domain: string,
  done: (d: DomainRecord | undefined) => boolean,
): Promise<DomainRecord | undefined> {
  return domainWhen(tenantId, domain, done, (DEADLINE_S + 20) * 1000);
}

async function servedBy(domain: string): Promise<boolean> {
  try {
    await aws().cloudfront.send(new GetDistributionTenantByDomainCommand({ Domain: domain }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

describe("a customer's own domain", () => {
  const owner = uniqueTenantId('domain-shop');
  const domain = `${owner}.example`;

  it('is live on its platform address at once, PENDING with the records to add, then ACTIVE once they are in place', async () => {
    const onboarding = await platform.runExecution(tenantInput(owner, { domain }));
    expect([onboarding.status, onboarding.cause]).toEqual(['SUCCEEDED', undefined]);
    expect((await get(`${owner}.localhost`)).status).toBe(200);
    const pending = await domainReaches(
      owner,
      domain,
      (d) => d?.status === 'PENDING_VALIDATION' && !!d.checkedAt,
    );
    expect(pending?.records.map((r) => [r.name, r.type, r.value])).toEqual([
      [domain, 'CNAME', LOCAL_ROUTING_ENDPOINT],
      [`www.${domain}`, 'CNAME', LOCAL_ROUTING_ENDPOINT],
      [`api.${domain}`, 'CNAME', LOCAL_ROUTING_ENDPOINT],
    ]);
    expect((await get(domain)).status).toBe(404);

    await addCustomerRecords(platform.endpointUrl, domain);
    await domainReaches(owner, domain, (d) => d?.status === 'ACTIVE');
    const site = await get(domain);
    expect(site.status).toBe(200);
    expect(site.body).toContain('<html');
    expect(await get(`api.${domain}`, '/health')).toMatchObject({ status: 200 });
    expect(await get(`www.${domain}`, '/a?b=1')).toMatchObject({
      status: 301,
      location: `http://${domain}:${gatewayPort}/a?b=1`,
    });
  }, 120_000);

  it("refuses a second tenant's claim of the domain, or a name under it; the first keeps it", async () => {
    const intruder = uniqueTenantId('domain-intruder');
    expect((await platform.runExecution(tenantInput(intruder))).status).toBe('SUCCEEDED');
    for (const claimed of [domain, `shop.${domain}`]) {
      const refused = await domainRun({ tenantId: intruder, domain: claimed });
      expect([refused.status, refused.error]).toEqual(['FAILED', 'ResourceConflict']);
    }
    expect(await tenantDomains(intruder)).toEqual([]);
    expect((await get(domain)).status).toBe(200);
  }, 120_000);

  it.each([
    ['localhost', 'shop.localhost'],
    ['an IP address', '10.0.0.1'],
    ['a wildcard', '*.example.com'],
    ['a label over 63 characters', `${'a'.repeat(64)}.example`],
    ['a homograph', 'xn--pple-43d.com'],
    ['upper case', 'Shop.Example'],
  ])(
    'refuses %s, creating nothing',
    async (_what, hostile) => {
      const tenantId = uniqueTenantId('hostile');
      expect((await platform.runExecution(tenantInput(tenantId))).status).toBe('SUCCEEDED');
      const refused = await domainRun({ tenantId, domain: hostile });
      expect([refused.status, refused.error]).toEqual(['FAILED', 'InvalidInput']);
      expect(refused.cause).toContain('domain');
      expect(await tenantDomains(tenantId)).toEqual([]);
      // tenantctl refuses it before starting anything, naming the field.
      const cli = await tenantctl(['domain', 'attach', tenantId, hostile, '--state-dir', stateDir]);
      expect([cli.code, cli.stderr]).toEqual([2, expect.stringContaining('tenantctl: domain: ')]);
      expect(await tenantDomains(tenantId)).toEqual([]);
    },
    60_000,
  );

  it('ends FAILED after the deadline when the records never come, the tenant still live and nothing pending left', async () => {
    const tenantId = uniqueTenantId('domain-never');
    const never = `${tenantId}.example`;
    expect((await platform.runExecution(tenantInput(tenantId, { domain: never }))).status).toBe('SUCCEEDED');
    const failed = await domainReaches(tenantId, never, (d) => d?.status === 'FAILED');
    expect(failed?.reason).toContain('not in place');
    expect(await servedBy(never)).toBe(false);
    expect(await getTenant(tenantId)).toMatchObject({ status: 'ACTIVE', domain: null });
    expect((await get(`${tenantId}.localhost`)).status).toBe(200);
  }, 120_000);

  it('changes to another domain: the old one serves until the new one is active, then it is removed', async () => {
    const next = `next-${domain}`;
    const change = await tenantctl(['domain', 'change', owner, next, '--state-dir', stateDir]);
    expect(change).toMatchObject({ code: 0 });
    expect(change.stdout).toContain(`${next}  PENDING_VALIDATION`);
    expect(change.stdout).toContain(`api.${next}  CNAME  ${LOCAL_ROUTING_ENDPOINT}`);
    expect((await get(domain)).status).toBe(200);
    expect((await get(next)).status).toBe(404);

    await addCustomerRecords(platform.endpointUrl, next);
    await domainReaches(owner, next, (d) => d?.status === 'ACTIVE');
    await domainReaches(owner, domain, (d) => d === undefined);
    expect((await get(next)).status).toBe(200);
    expect((await get(domain)).status).toBe(404);
    expect(await servedBy(domain)).toBe(false);
    expect(await getTenant(owner)).toMatchObject({ domain: next });

    const shown = await tenantctl(['domain', owner, '--json', '--state-dir', stateDir]);
    expect(JSON.parse(shown.stdout)).toEqual([
      expect.objectContaining({ domain: next, status: 'ACTIVE', reason: null }),
    ]);
  }, 120_000);

  it('keeps an active domain serving across a restart, and takes a pending one up again', async () => {
    const tenantId = uniqueTenantId('domain-restart');
    const pending = `${tenantId}.example`;
    expect((await platform.runExecution(tenantInput(tenantId, { domain: pending }))).status).toBe(
      'SUCCEEDED',
    );
    const before = await domainReaches(
      tenantId,
      pending,
      (d) => d?.status === 'PENDING_VALIDATION' && !!d.checkedAt,
    );

    await services.stop();
    services = await startLocalServices({ stateDir, port: 0, gatewayPort: 0 });
    platform = services.platform;
    gatewayPort = Number(new URL(services.endpoints.gateway).port);

    expect((await get(`next-${domain}`)).status).toBe(200);
    const resumed = await domainReaches(
      tenantId,
      pending,
      (d) => d?.status === 'PENDING_VALIDATION' && d.executionArn !== before?.executionArn && !!d.checkedAt,
    );
    expect(resumed?.records).toEqual(before?.records);
    // The emulator kept nothing: the customer's zone is made again.
    await addCustomerRecords(platform.endpointUrl, pending);
    await domainReaches(tenantId, pending, (d) => d?.status === 'ACTIVE');
    expect((await get(pending)).status).toBe(200);
  }, 180_000);

  it('is attached by a TenantDomainRequested event, and detached by one', async () => {
    const tenantId = uniqueTenantId('domain-event');
    const requested = `${tenantId}.example`;
    expect((await platform.runExecution(tenantInput(tenantId))).status).toBe('SUCCEEDED');
    const put = (detail: Record<string, unknown>) =>
      aws().events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: PlatformNames.eventBus,
              Source: 'shop-signups',
              DetailType: EventTypes.TenantDomainRequested,
              Detail: JSON.stringify(detail),
            },
          ],
        }),
      );
    await put({ tenantId, domain: requested });
    await addCustomerRecords(platform.endpointUrl, requested);
    await domainReaches(tenantId, requested, (d) => d?.status === 'ACTIVE');
    expect((await get(`api.${requested}`, '/health')).status).toBe(200);

    await put({ tenantId, action: 'detach' });
    await domainReaches(tenantId, requested, (d) => d === undefined);
    expect(await servedBy(requested)).toBe(false);
    expect((await get(requested)).status).toBe(404);
    expect(await getTenant(tenantId)).toMatchObject({ status: 'ACTIVE', domain: null });
  }, 120_000);

  it('is removed with its distribution tenants when the tenant is offboarded', async () => {
    const offboarded = await platform.runExecution(
      { tenantId: owner },
      { stateMachineArn: platform.stateMachines.offboarding.arn },
    );
    expect(offboarded.status).toBe('SUCCEEDED');
    expect(await tenantDomains(owner)).toEqual([]);
    const next = `next-${domain}`;
    for (const name of [next, `www.${next}`, `api.${next}`]) expect(await servedBy(name)).toBe(false);
    expect((await get(next)).status).toBe(404);
  }, 120_000);
});
