import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import type { LocalPlatform } from '../../local/platform';
import { aws } from '../../workflow-tasks/lib/aws';
import { adminClient, startTestPlatform, tenantInput } from '../fixtures/platform';

let platform: LocalPlatform;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
  // One real tenant, so the registry exists and "nothing changed" is measured against something.
  const baseline = await platform.runExecution(tenantInput('hostile-baseline'));
  if (baseline.status !== 'SUCCEEDED')
    throw new Error(`baseline onboarding ${baseline.status}: ${baseline.cause}`);
});

afterAll(async () => {
  await cleanup();
});

const without = (field: string) => (input: Record<string, unknown>) => {
  const copy = { ...input };
  delete copy[field];
  return copy;
};
const set = (patch: Record<string, unknown>) => (input: Record<string, unknown>) => ({ ...input, ...patch });

// [what, how the valid input is changed, the field the error must name]
const cases: [string, (input: Record<string, unknown>) => unknown, string][] = [
  ['upper case in the tenant id', set({ tenantId: 'Building-Shop' }), 'tenantId'],
  ['SQL in the tenant id', set({ tenantId: "shop'; DROP DATABASE postgres; --" }), 'tenantId'],
  ['a semicolon in the tenant id', set({ tenantId: 'shop;x' }), 'tenantId'],
  ['a shell substitution in the tenant id', set({ tenantId: '$(rm -rf /)' }), 'tenantId'],
  ['backticks in the tenant id', set({ tenantId: '`id`' }), 'tenantId'],
  ['path traversal in the tenant id', set({ tenantId: '../etc' }), 'tenantId'],
  ['a Cyrillic look-alike in the tenant id', set({ tenantId: 'shоp-one' }), 'tenantId'],
  ['full-width letters in the tenant id', set({ tenantId: 'ｓｈｏｐ' }), 'tenantId'],
  ['a zero-width space in the tenant id', set({ tenantId: 'sh\u200bop' }), 'tenantId'],
  ['a reserved tenant id', set({ tenantId: 'postgres' }), 'tenantId'],
  ['a template database as tenant id', set({ tenantId: 'template1' }), 'tenantId'],
  ['a PostgreSQL-reserved prefix', set({ tenantId: 'pg-shop' }), 'tenantId'],
  ['a double dash', set({ tenantId: 'a--b' }), 'tenantId'],
  ['an empty tenant id', set({ tenantId: '' }), 'tenantId'],
  ['a 100 000-character tenant id', set({ tenantId: 'a'.repeat(100_000) }), 'tenantId'],
  ['a number as tenant id', set({ tenantId: 42 }), 'tenantId'],
  ['null as tenant id', set({ tenantId: null }), 'tenantId'],
  ['a list as tenant id', set({ tenantId: ['shop'] }), 'tenantId'],
  ['no tenant id', without('tenantId'), 'tenantId'],
  ['an empty company name', set({ companyName: '  ' }), 'companyName'],
  ['a NUL in the company name', set({ companyName: 'Shop\u0000Inc' }), 'companyName'],
  ['a bidi override in the company name', set({ companyName: 'Shop\u202Egnp.exe' }), 'companyName'],
  ['a 10 000-character company name', set({ companyName: 'x'.repeat(10_000) }), 'companyName'],
  ['an object as company name', set({ companyName: { toString: 'x' } }), 'companyName'],
  ['no company name', without('companyName'), 'companyName'],
  ['a bad e-mail', set({ adminEmail: 'not-an-email' }), 'adminEmail'],
  ['a header injection in the e-mail', set({ adminEmail: 'a@b.com\r\nBcc: x@y.z' }), 'adminEmail'],
  ['SQL in the e-mail', set({ adminEmail: "a@b.com' OR '1'='1" }), 'adminEmail'],
  ['no e-mail', without('adminEmail'), 'adminEmail'],
  ['an unknown tier', set({ tier: 'platinum' }), 'tier'],
  ['a number as tier', set({ tier: 1 }), 'tier'],
  ['path traversal in the domain', set({ domain: '../../etc/passwd' }), 'domain'],
  ['a path after the domain', set({ domain: 'evil.com/../../x' }), 'domain'],
  ['a command after the domain', set({ domain: 'example.com; rm -rf /' }), 'domain'],
  ['a space in the domain', set({ domain: 'ex ample.com' }), 'domain'],
  ['upper case in the domain', set({ domain: 'EXAMPLE.COM' }), 'domain'],
  ['a single-label domain', set({ domain: 'localhost' }), 'domain'],
  ['a 300-character domain', set({ domain: `${'a'.repeat(290)}.com` }), 'domain'],
  ['an unknown field', set({ plan: 'gold' }), '"plan"'],
  ['a results field (forged step results)', set({ results: { tenant: { tenantId: 'other' } } }), '"results"'],
  ['a list instead of an object', () => ['building-shop'], 'input'],
  ['a string instead of an object', () => 'building-shop', 'input'],
];

describe('malformed or hostile onboarding input', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)(
    '%s: rejected at validation with the field named, and nothing is created',
    async (_, change, field) => {
      const admin = await adminClient(platform, 'platform');
      const count = async (sql: string) => (await admin.query<{ n: number }>(sql)).rows[0]?.n;
      const snapshot = async () => ({
        databases: await count('SELECT count(*)::int AS n FROM pg_database'),
        roles: await count('SELECT count(*)::int AS n FROM pg_roles'),
        tenants: await count('SELECT count(*)::int AS n FROM tenants'),
        secrets: (await aws().secrets.send(new ListSecretsCommand({}))).SecretList?.length,
      });
      try {
        const before = await snapshot();
        const record = await platform.runExecution(change(tenantInput('hostile-shop')));
        expect([record.status, record.error]).toEqual(['FAILED', 'InvalidInput']);
        expect((JSON.parse(record.cause ?? '{}') as { errorMessage: string }).errorMessage).toContain(
          `${field}:`,
        );
        expect(
          record.events
            .filter((e) => e.type.endsWith('StateEntered'))
            .map((e) => e.stateEnteredEventDetails?.name),
        ).toEqual(['Validate input', 'Invalid input']);
        expect(await snapshot()).toEqual(before);
      } finally {
        await admin.end();
      }
    },
  );
});
