import { GetAliasCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { LocalPlatformNames, PlatformNames, tenantResourceNames } from '../../common/names';
import type { LocalPlatform } from '../../local/platform';
import { aws } from '../../workflow-tasks/lib/aws';
import { getTenant } from '../../workflow-tasks/records/registry';
import { startTestPlatform, tenantInput } from '../fixtures/platform';
import { runRelease, uploadVersion } from '../fixtures/releases';

// One fault per tenant, each in a step after which `live` or the frontend has already changed.
const tenants = ['fault-a', 'fault-b', 'fault-c', 'fault-d'];
const faults = [
  { tenantId: 'fault-b', step: 'release:move-alias', kind: 'after-effect' as const, times: 1 },
  { tenantId: 'fault-c', step: 'release:publish-frontend', kind: 'after-effect' as const, times: 1 },
  { tenantId: 'fault-d', step: 'release:update-function-code', kind: 'transient' as const, times: 2 },
];

let platform: LocalPlatform;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({ faults }));
  for (const tenantId of tenants) {
    const record = await platform.runExecution(tenantInput(tenantId));
    if (record.status !== 'SUCCEEDED') throw new Error(`onboarding ${tenantId}: ${record.cause ?? ''}`);
  }
}, 120_000);

afterAll(async () => {
  await cleanup?.();
});

async function live(tenantId: string): Promise<string | undefined> {
  const alias = await aws().lambda.send(
    new GetAliasCommand({
      FunctionName: tenantResourceNames(tenantId).functionName,
      Name: PlatformNames.liveAlias,
    }),
  );
  return alias.FunctionVersion;
}

async function page(tenantId: string): Promise<string | undefined> {
  const object = await aws().s3.send(
    new GetObjectCommand({
      Bucket: LocalPlatformNames.siteBucket,
      Key: `${tenantResourceNames(tenantId).sitePrefix}index.html`,
    }),
  );
  return object.Body?.transformToString();
}

describe('a release whose steps fail after their effect', () => {
  it('puts live and the frontend back where they were, retries transient errors, and updates the rest', async () => {
    const before = Object.fromEntries(
      await Promise.all(
        tenants.map(
          async (t) =>
            [
              t,
              { live: await live(t), page: await page(t), codeVersion: (await getTenant(t))?.codeVersion },
            ] as const,
        ),
      ),
    );
    const version = await uploadVersion({ build: 'faulty', page: 'new page' });
    const { record, summary } = await runRelease(platform, { version, canary: 0, maxFailures: 2 });
    // The status with what failed and why, so a release that stopped says which tenant's error stopped it.
    expect([
      record.status,
      record.cause,
      summary?.stopReason,
      summary?.failed.map((f) => [f.tenantId, f.error]),
    ]).toEqual([
      'SUCCEEDED',
      undefined,
      undefined,
      [
        ['fault-b', expect.stringMatching(/^InjectedFault:/)],
        ['fault-c', expect.stringMatching(/^InjectedFault:/)],
      ],
    ]);
    expect(summary.updated).toEqual(['fault-a', 'fault-d']);
    for (const tenantId of ['fault-b', 'fault-c']) {
      expect(await live(tenantId)).toBe(before[tenantId]!.live);
      expect(await page(tenantId)).toBe(before[tenantId]!.page);
      expect(await getTenant(tenantId)).toMatchObject({
        codeVersion: before[tenantId]!.codeVersion,
        lastRelease: { outcome: 'failed' },
      });
    }
    for (const tenantId of ['fault-a', 'fault-d']) {
      expect(await live(tenantId)).not.toBe(before[tenantId]!.live);
      expect(await page(tenantId)).toContain('new page');
      expect(await getTenant(tenantId)).toMatchObject({
        codeVersion: version,
        lastRelease: { outcome: 'updated' },
      });
    }
  }, 120_000);
});
