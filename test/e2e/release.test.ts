import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { ListInvalidationsCommand } from '@aws-sdk/client-cloudfront';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { gatewayRequest } from '../../cli/describe';
import { LocalPlatformNames, PlatformNames, tenantResourceNames } from '../../common/names';
import { LocalGateway } from '../../local/gateway/gateway';
import { waitFor } from '../../local/processes/ports';
import type { LocalPlatform } from '../../local/platform';
import { aws } from '../../workflow-tasks/lib/aws';
import { getTenant } from '../../workflow-tasks/records/registry';
import { tenantClient } from '../fixtures/executions';
import { startTestPlatform, tenantInput } from '../fixtures/platform';
import { runRelease, uploadVersion } from '../fixtures/releases';

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let gateway: LocalGateway;
let gatewayUrl: string;
/** The migrations of v3 (v2's and one more), which v5 keeps. */
const V3_MIGRATIONS = {
  '0004_release_marks.sql': 'CREATE TABLE release_marks (id serial PRIMARY KEY, note text);',
  '0005_gift_cards.sql': 'CREATE TABLE gift_cards (id serial PRIMARY KEY, code text NOT NULL);',
};
/** The 20 live tenants, in tenantId order (the order a release plans them in). */
const tenants = Array.from({ length: 20 }, (_, i) => `shop-${String(i + 1).padStart(2, '0')}`);

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
  gateway = new LocalGateway(platform);
  gatewayUrl = `http://127.0.0.1:${await gateway.listen(0)}`;
  for (const tenantId of tenants) {
    const record = await platform.runExecution(tenantInput(tenantId));
    if (record.status !== 'SUCCEEDED')
      throw new Error(`onboarding ${tenantId}: ${record.error ?? ''} ${record.cause ?? ''}`);
  }
}, 180_000);

afterAll(async () => {
  await gateway?.close();
  await cleanup?.();
});

/** Where alias `live` of each tenant points. */
async function liveVersions(): Promise<Record<string, string>> {
  const entries = await Promise.all(
    tenants.map(async (tenantId) => {
      const alias = await aws().lambda.send(
        new GetAliasCommand({
          FunctionName: tenantResourceNames(tenantId).functionName,
          Name: PlatformNames.liveAlias,
        }),
      );
      return [tenantId, alias.FunctionVersion ?? ''] as const;
    }),
  );
  return Object.fromEntries(entries);
}

async function ledger(): Promise<
  Record<string, { codeVersion: string | null; schemaVersion: number | null }>
> {
  const entries = await Promise.all(
    tenants.map(async (tenantId) => {
      const t = await getTenant(tenantId);
      return [
        tenantId,
        { codeVersion: t?.codeVersion ?? null, schemaVersion: t?.schemaVersion ?? null },
      ] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** Runs SQL in a tenant's own database as the tenant's role. */
async function inTenantDb<T>(tenantId: string, sql: string): Promise<T[]> {
  const client = await tenantClient(tenantId);
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

async function health(tenantId: string) {
  return gatewayRequest(gatewayUrl, `api.${tenantId}.localhost`, '/health');
}

/**
 * The build a tenant's API answers with through the gateway once it has seen where `live` points: it reads
 * the alias again after at most a second, as API Gateway sees an alias move after a moment.
 */
async function servedBuild(tenantId: string, expected: string): Promise<string | undefined> {
  let seen: string | undefined;
  await waitFor(
    `${tenantId} to answer with build ${expected}`,
    async () => {
      seen = (await health(tenantId)).headers['x-build'] as string | undefined;
      return seen === expected;
    },
    5_000,
  ).catch(() => undefined);
  return seen;
}

async function invalidations(): Promise<number> {
  const out = await aws().cloudfront.send(
    new ListInvalidationsCommand({ DistributionId: platform.environment.DISTRIBUTION_ID }),
  );
  return out.InvalidationList?.Quantity ?? 0;
}

describe('a release', () => {
  let v2 = '';

  it('brings a new migration, new code and a new page to 20 tenants: canary, then a wave', async () => {
    const before = await liveVersions();
    const invalidationsBefore = await invalidations();
    v2 = await uploadVersion({
      migrations: {
        '0004_release_marks.sql': 'CREATE TABLE release_marks (id serial PRIMARY KEY, note text);',
      },
      build: 'v2',
      page: 'build v2',
    });
    const { record, summary } = await runRelease(platform, { version: v2, concurrency: 4 });
    expect(record.status).toBe('SUCCEEDED');
    expect(summary).toMatchObject({
      version: v2,
      updated: tenants,
      unchanged: [],
      failed: [],
      notAttempted: [],
    });

    const after = await liveVersions();
    for (const tenantId of tenants) {
      expect(Number(after[tenantId])).toBeGreaterThan(Number(before[tenantId]));
      expect(await servedBuild(tenantId, 'v2')).toBe('v2');
      const response = await health(tenantId);
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({ schemaVersion: 4 });
      expect(await inTenantDb(tenantId, 'SELECT count(*)::int AS n FROM release_marks')).toEqual([{ n: 0 }]);
    }
    expect(Object.values(await ledger())).toEqual(tenants.map(() => ({ codeVersion: v2, schemaVersion: 4 })));
    const page = await aws().s3.send(
      new GetObjectCommand({
        Bucket: LocalPlatformNames.siteBucket,
        Key: `${tenantResourceNames(tenants[7]!).sitePrefix}index.html`,
      }),
    );
    expect(await page.Body?.transformToString()).toContain('build v2');
    // The canary wave and one wave of 19: one invalidation each.
    expect((await invalidations()) - invalidationsBefore).toBe(2);
  }, 120_000);

  it('run again for the same version, updates nothing', async () => {
    const before = await liveVersions();
    const { record, summary } = await runRelease(platform, { version: v2 });
    expect(record.status).toBe('SUCCEEDED');
    expect(summary).toMatchObject({ updated: [], unchanged: tenants, failed: [], notAttempted: [] });
    expect(await liveVersions()).toEqual(before);
  }, 60_000);

  let v3 = '';
  const refusing = tenants[4]!;

  it('leaves a tenant whose database refuses the migration on its old code and schema, and updates the others', async () => {
    await inTenantDb(refusing, 'CREATE TABLE gift_cards (code text)');
    const before = await liveVersions();
    v3 = await uploadVersion({
      migrations: V3_MIGRATIONS,
      build: 'v3',
    });
    const { record, summary } = await runRelease(platform, { version: v3, maxFailures: 1 });
    expect(record.status).toBe('SUCCEEDED');
    const others = tenants.filter((t) => t !== refusing);
    expect(summary).toMatchObject({ updated: others, unchanged: [], notAttempted: [] });
    expect(summary.failed).toEqual([
      {
        tenantId: refusing,
        error: expect.stringContaining('relation "gift_cards" already exists') as string,
      },
    ]);

    const after = await liveVersions();
    expect(after[refusing]).toBe(before[refusing]);
    const response = await health(refusing);
    expect(response.status).toBe(200);
    expect(response.headers['x-build']).toBe('v2');
    expect(JSON.parse(response.body)).toMatchObject({ schemaVersion: 4 });
    expect(await getTenant(refusing)).toMatchObject({ codeVersion: v2, schemaVersion: 4 });
    for (const tenantId of others) {
      expect(await servedBuild(tenantId, 'v3')).toBe('v3');
      expect(await getTenant(tenantId)).toMatchObject({ codeVersion: v3, schemaVersion: 5 });
    }
  }, 120_000);

  it('is resumed by running it again: only the tenant left behind is touched', async () => {
    await inTenantDb(refusing, 'DROP TABLE gift_cards');
    const before = await liveVersions();
    const { record, summary } = await runRelease(platform, { version: v3 });
    expect(record.status).toBe('SUCCEEDED');
    expect(summary).toMatchObject({
      updated: [refusing],
      unchanged: tenants.filter((t) => t !== refusing),
      failed: [],
    });
    const after = await liveVersions();
    expect({ ...after, [refusing]: before[refusing] }).toEqual(before);
    expect(after[refusing]).not.toBe(before[refusing]);
    expect(await servedBuild(refusing, 'v3')).toBe('v3');
  }, 60_000);

  it('stops at a failing canary with no other tenant changed', async () => {
    const canary = tenants[0]!;
    await inTenantDb(canary, 'CREATE TABLE loyalty_points (points int)');
    const before = { aliases: await liveVersions(), ledger: await ledger() };
    const v4 = await uploadVersion({
      migrations: {
        '0004_release_marks.sql': 'CREATE TABLE release_marks (id serial PRIMARY KEY, note text);',
        '0005_gift_cards.sql': 'CREATE TABLE gift_cards (id serial PRIMARY KEY, code text NOT NULL);',
        '0006_loyalty_points.sql': 'CREATE TABLE loyalty_points (customer text PRIMARY KEY, points int);',
      },
      build: 'v4',
    });
    const { record, summary } = await runRelease(platform, { version: v4, maxFailures: 5 });
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('ReleaseStopped');
    expect(record.cause).toContain(`the canary failed: ${canary}`);
    expect(summary).toMatchObject({
      updated: [],
      failed: [{ tenantId: canary }],
      notAttempted: tenants.slice(1),
    });
    expect(await liveVersions()).toEqual(before.aliases);
    expect(await ledger()).toEqual(before.ledger);
    const migrated = await inTenantDb<{ n: number }>(
      tenants[1]!,
      "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'loyalty_points'",
    );
    expect(migrated).toEqual([{ n: 0 }]);
    await inTenantDb(canary, 'DROP TABLE loyalty_points');
  }, 60_000);

  it('never gives traffic to a version whose health check fails, and stops when failures exceed the budget', async () => {
    const before = { aliases: await liveVersions(), ledger: await ledger() };
    const broken = await uploadVersion({ build: 'broken', brokenHealth: true });
    // No canary, one tenant at a time, a budget of 2: the third failure stops the release.
    const { record, summary } = await runRelease(platform, {
      version: broken,
      canary: 0,
      concurrency: 1,
      maxFailures: 2,
      waveSize: 5,
    });
    expect(record.status).toBe('FAILED');
    expect(record.cause).toBe('3 tenants failed, more than the failure budget (2)');
    expect(summary.updated).toEqual([]);
    expect(summary.failed.map((f) => f.tenantId)).toEqual(tenants.slice(0, 3));
    for (const f of summary.failed) expect(f.error).toContain('HealthCheckFailed: version');
    expect(summary.notAttempted).toEqual(tenants.slice(3));
    expect(await liveVersions()).toEqual(before.aliases);
    // Their schema did not change (this version adds no migration); their code stays where it was.
    expect(await ledger()).toEqual(before.ledger);
    for (const tenantId of tenants.slice(0, 3)) expect((await health(tenantId)).status).toBe(200);
  }, 60_000);

  it('keeps two versions of each function, the live one and the one before, and never numbers a version twice', async () => {
    const functionName = (tenantId: string) => tenantResourceNames(tenantId).functionName;
    const versionsOf = async (tenantId: string) =>
      (await aws().lambda.send(new ListVersionsByFunctionCommand({ FunctionName: functionName(tenantId) })))
        .Versions!.map((v) => v.Version!)
        .filter((v) => v !== '$LATEST')
        .map(Number);
    const canary = tenants[0]!;
    // Onboarded as 1, then v2 and v3; 1 was pruned by v3, and the broken release left 4 behind.
    expect(await versionsOf(canary)).toEqual([2, 3, 4]);
    const before = await liveVersions();

    const v5 = await uploadVersion({
      migrations: V3_MIGRATIONS,
      build: 'v5',
    });
    const { record, summary } = await runRelease(platform, { version: v5, concurrency: 4 });
    expect(record.status).toBe('SUCCEEDED');
    expect(summary).toMatchObject({ updated: tenants, failed: [] });

    const after = await liveVersions();
    expect(after[canary]).toBe('5');
    for (const tenantId of tenants) {
      expect(await versionsOf(tenantId)).toEqual([Number(before[tenantId]), Number(after[tenantId])]);
      expect(await servedBuild(tenantId, 'v5')).toBe('v5');
    }
    // A pruned version is gone, as on AWS.
    await expect(
      aws().lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: functionName(canary), Qualifier: '2' }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  }, 120_000);
});
