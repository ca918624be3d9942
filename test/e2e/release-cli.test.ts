import { rm } from 'node:fs/promises';
import type { ReleaseSummary } from '../../common/release';
import { gatewayRequest } from '../../cli/describe';
import { makeStateDir } from '../fixtures/state-dir';
import { waitFor } from '../../local/processes/ports';
import { awsCli, onboardExamples, stop, tenantctl, up, type Up } from '../fixtures/processes';
import { uploadVersion } from '../fixtures/releases';
import { SUSPENDED_REASON } from '../../workflow-tasks/records/release-ledger';

const EXAMPLES = ['bookstore', 'building-shop', 'hardware-store'];

let stateDir: string;
let running: Up | undefined;
const saved = { ...process.env };

beforeAll(async () => {
  stateDir = await makeStateDir('release-cli');
  running = await up(stateDir);
  pointAwsAt(running);
  await onboardExamples(stateDir, EXAMPLES);
}, 180_000);

/** uploadVersion talks to the platform's own AWS endpoint, as tenantctl does. */
function pointAwsAt(platform: Up): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: platform.endpoints.aws,
    AWS_REGION: platform.endpoints.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
}

afterAll(async () => {
  if (running) await stop(running);
  process.env = saved;
  await rm(stateDir, { recursive: true, force: true });
});

async function releaseJson(args: string[]) {
  const result = await tenantctl(['release', '--json', '--state-dir', stateDir, ...args], {
    timeoutMs: 120_000,
  });
  return {
    ...result,
    summary: JSON.parse(result.stdout) as { status: string; output: ReleaseSummary; error?: string },
  };
}

describe('tenantctl release', () => {
  it("finds every tenant already on the working tree's version: nothing to do, exit 0", async () => {
    const { code, stderr, summary } = await releaseJson([]);
    expect([code, stderr]).toEqual([0, '']);
    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.output).toMatchObject({ updated: [], unchanged: EXAMPLES.sort(), failed: [] });
  }, 120_000);

  it('releases another version with --version, then the working tree again (code goes back, schema stays)', async () => {
    const v2 = await uploadVersion({
      migrations: {
        '0004_wish_lists.sql': 'CREATE TABLE wish_lists (id serial PRIMARY KEY, sku text NOT NULL);',
      },
      build: 'v2',
    });
    const forward = await releaseJson(['--version', v2, '--concurrency', '2']);
    expect([forward.code, forward.summary.status]).toEqual([0, 'SUCCEEDED']);
    expect(forward.summary.output).toMatchObject({ version: v2, updated: EXAMPLES.sort(), failed: [] });

    const back = await tenantctl(['release', '--state-dir', stateDir], { timeoutMs: 120_000 });
    expect(back.code).toBe(0);
    // Live progress: the plan, the canary, the wave and each tenant.
    expect(back.stdout).toContain('Planned 3 tenant(s) in 2 wave(s)');
    expect(back.stdout).toContain('canary: 1 tenant(s)');
    expect(back.stdout).toContain('wave 1: 2 tenant(s)');
    for (const tenantId of EXAMPLES)
      expect(back.stdout).toMatch(new RegExp(`✓ ${tenantId}: updated .*schema 4`));
    expect(back.stdout).toMatch(/: SUCCEEDED: 3 updated, 0 unchanged, 0 failed, 0 not attempted/);

    const tenants = JSON.parse((await tenantctl(['tenants', '--json', '--state-dir', stateDir])).stdout) as {
      tenantId: string;
      codeVersion: string;
      schemaVersion: number;
      lastRelease: { outcome: string };
    }[];
    const current = forward.summary.output.version;
    for (const t of tenants) {
      expect(t.codeVersion).not.toBe(current);
      expect(t).toMatchObject({ schemaVersion: 4, lastRelease: { outcome: 'updated' } });
    }

    const releases = JSON.parse(
      (await tenantctl(['releases', '--json', '--state-dir', stateDir])).stdout,
    ) as {
      version: string;
      status: string;
      updated: number;
      unchanged: number;
      failed: number;
      notAttempted: number;
    }[];
    expect(releases.map((r) => [r.status, r.updated, r.unchanged, r.failed, r.notAttempted])).toEqual([
      ['SUCCEEDED', 3, 0, 0, 0],
      ['SUCCEEDED', 3, 0, 0, 0],
      ['SUCCEEDED', 0, 3, 0, 0],
    ]);
    expect(releases[1]?.version).toBe(v2);
  }, 240_000);

  it('exits 1 and lists the failed tenants when a version fails its health check', async () => {
    const broken = await uploadVersion({ brokenHealth: true, build: 'broken' });
    const { code, summary } = await releaseJson(['--version', broken]);
    expect(code).toBe(1);
    expect(summary).toMatchObject({ status: 'FAILED', error: 'ReleaseStopped' });
    expect(summary.output.failed).toEqual([
      { tenantId: 'bookstore', error: expect.stringContaining('HealthCheckFailed') as string },
    ]);
    expect(summary.output.notAttempted).toEqual(['building-shop', 'hardware-store']);
  }, 120_000);

  it('refuses bad flags before it builds or starts anything, naming the flag', async () => {
    const before = (await tenantctl(['releases', '--json', '--state-dir', stateDir])).stdout;
    const bad = await tenantctl(['release', '--canary', 'x', '--concurrency', '0', '--state-dir', stateDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'tenantctl: --canary: must be a whole number; --concurrency: must be at least 1\n',
    );
    expect((await tenantctl(['releases', '--json', '--state-dir', stateDir])).stdout).toBe(before);
  });

  it('keeps released versions and suspensions across a restart: each tenant comes back as it was', async () => {
    const kept = await uploadVersion({ build: 'kept' }, { keepIn: stateDir });
    const released = await releaseJson(['--version', kept]);
    expect([released.code, released.summary.output.updated]).toEqual([0, EXAMPLES.sort()]);
    const suspended = await tenantctl(['suspend', 'hardware-store', '--state-dir', stateDir]);
    expect(suspended.code).toBe(0);
    expect(suspended.stdout).toContain('hardware-store: SUCCEEDED');

    expect(await stop(running!)).toBe(0);
    running = undefined;
    process.env = { ...saved }; // the platform starts its own emulator, as it did the first time
    running = await up(stateDir);
    pointAwsAt(running);

    const tenants = JSON.parse((await tenantctl(['tenants', '--json', '--state-dir', stateDir])).stdout) as {
      tenantId: string;
      status: string;
      codeVersion: string;
    }[];
    expect(tenants.map((t) => t.codeVersion)).toEqual(EXAMPLES.map(() => kept));
    expect(tenants.map((t) => t.status)).toEqual(['ACTIVE', 'ACTIVE', 'SUSPENDED']);
    const api = (tenantId: string, path: string) =>
      gatewayRequest(running!.endpoints.gateway, `api.${tenantId}.localhost`, path);
    for (const tenantId of EXAMPLES) {
      const health = await api(tenantId, '/health');
      expect([health.status, health.headers['x-build']]).toEqual([200, 'kept']);
      expect(JSON.parse(health.body)).toMatchObject({ suspended: tenantId === 'hardware-store' });
    }
    expect((await api('hardware-store', '/products')).status).toBe(503);

    const resumed = await tenantctl(['resume', 'hardware-store', '--json', '--state-dir', stateDir]);
    expect([resumed.code, (JSON.parse(resumed.stdout) as { status: string }).status]).toEqual([
      0,
      'SUCCEEDED',
    ]);
    await waitFor(
      'hardware-store to serve again',
      async () => (await api('hardware-store', '/products')).status === 401,
      5_000,
    );
    const refused = await tenantctl(['resume', 'hardware-store', '--state-dir', stateDir]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      'TenantStateConflict: hardware-store is ACTIVE; only a SUSPENDED tenant can be resumed',
    );
  }, 240_000);

  it('starts with aws stepfunctions start-execution too, and refuses bad input naming each field', async () => {
    const { releaseStateMachineArn, aws } = running!.endpoints;
    const start = async (input: unknown) => {
      const { executionArn } = (await awsCli(aws, [
        'stepfunctions',
        'start-execution',
        '--state-machine-arn',
        releaseStateMachineArn,
        '--input',
        JSON.stringify(input),
      ])) as { executionArn: string };
      let described: { status: string; error?: string; cause?: string; output?: string } = {
        status: 'RUNNING',
      };
      await waitFor(
        'the release to end',
        async () => {
          described = (await awsCli(aws, [
            'stepfunctions',
            'describe-execution',
            '--execution-arn',
            executionArn,
          ])) as typeof described;
          return described.status !== 'RUNNING';
        },
        60_000,
      );
      return described;
    };
    const before = (await tenantctl(['releases', '--json', '--state-dir', stateDir])).stdout;
    const bad = await start({ version: 'not-a-version', canary: -1, concurrency: 1.5, surprise: true });
    expect(bad).toMatchObject({ status: 'FAILED', error: 'InvalidInput' });
    expect((JSON.parse(bad.cause ?? '{}') as { errorMessage: string }).errorMessage).toBe(
      'version: must be 16 hex digits (a tenant API version); canary: must be at least 0; ' +
        'concurrency: must be a whole number; "surprise": is not a known field',
    );
    const missing = await start({ version: 'ffffffffffffffff' });
    expect(missing).toMatchObject({ status: 'FAILED', error: 'VersionNotFound' });
    // tenantctl says just that, in one line.
    const unknown = await tenantctl(['release', '--version', 'ffffffffffffffff', '--state-dir', stateDir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout.trimEnd().split('\n').pop()).toMatch(
      /^Release ffffffffffffffff: FAILED: VersionNotFound: version ffffffffffffffff is not in /,
    );
    expect(unknown.stdout).not.toContain('no summary');
    // Neither planned anything.
    expect((await tenantctl(['releases', '--json', '--state-dir', stateDir])).stdout).toBe(before);

    const tenants = JSON.parse((await tenantctl(['tenants', '--json', '--state-dir', stateDir])).stdout) as {
      codeVersion: string;
    }[];
    const again = await start({ version: tenants[0]!.codeVersion });
    expect(again.status).toBe('SUCCEEDED');
    expect(JSON.parse(again.output ?? '{}')).toMatchObject({ updated: [], unchanged: EXAMPLES.sort() });
  }, 120_000);
  it('skips a suspended tenant, naming it and why; the listings have headers; executions span every workflow', async () => {
    const suspended = await tenantctl(['suspend', 'building-shop', '--state-dir', stateDir]);
    expect(suspended.code).toBe(0);
    const version = await uploadVersion({ build: 'while-suspended' });
    const released = await tenantctl(['release', '--version', version, '--state-dir', stateDir], {
      timeoutMs: 120_000,
    });
    expect(released.code).toBe(0);
    expect(released.stdout).toContain(`  - building-shop: skipped: ${SUSPENDED_REASON}`);
    expect(released.stdout).toMatch(/: SUCCEEDED: 2 updated, 0 unchanged, 0 failed, 0 not attempted/);
    const releaseArn = /Releasing \S+ \((arn:[^)]+)\)/.exec(released.stdout)?.[1];
    const { output } = (await awsCli(running!.endpoints.aws, [
      'stepfunctions',
      'describe-execution',
      '--execution-arn',
      releaseArn!,
    ])) as { output: string };
    expect(JSON.parse(output)).toMatchObject({
      updated: ['bookstore', 'hardware-store'],
      skipped: [{ tenantId: 'building-shop', reason: SUSPENDED_REASON }],
      notAttempted: [],
    });

    // Listings for people: a header row, the columns aligned under it, no colour off a terminal.
    const listing = async (args: string[]) => {
      const result = await tenantctl([...args, '--state-dir', stateDir]);
      expect([result.code, result.stderr]).toEqual([0, '']);
      expect(result.stdout).not.toContain('\u001b[');
      return result.stdout.trimEnd().split('\n');
    };
    const tenants = await listing(['tenants']);
    expect(tenants[0]).toMatch(
      /^TENANT +STATUS +TIER +DOMAIN +CELL +INSTANCE +CODE +SCHEMA +LAST RELEASE +CREATED$/,
    );
    const statusAt = tenants[0]!.indexOf('STATUS');
    const row = tenants.find((line) => line.startsWith('building-shop '));
    expect(row?.slice(statusAt).split(/ +/)[0]).toBe('SUSPENDED');
    expect(row).toMatch(/(just now|\d+ (s|min) ago)$/);
    const releases = await listing(['releases']);
    expect(releases[0]).toMatch(
      /^STARTED +VERSION +STATUS +UPDATED +UNCHANGED +FAILED +NOT ATTEMPTED +SKIPPED +NAME$/,
    );
    expect(releases[1]?.slice(releases[0]!.indexOf('SKIPPED')).split(/ +/)[0]).toBe('1');
    const executions = await listing(['executions']);
    expect(executions[0]).toMatch(/^STATUS +WORKFLOW +TENANT +STARTED +TOOK +NAME +ARN$/);
    const workflowAt = executions[0]!.indexOf('WORKFLOW');
    const workflows = new Set(executions.slice(1).map((line) => line.slice(workflowAt).split(/ +/)[0]));
    expect([...workflows]).toEqual(expect.arrayContaining(['onboarding', 'release', 'suspension']));

    type Listed = { workflow: string; tenantId: string | null; executionArn: string; status: string };
    const listedJson = async (args: string[]) =>
      JSON.parse(
        (await tenantctl(['executions', '--json', '--state-dir', stateDir, ...args])).stdout,
      ) as Listed[];
    const suspensions = await listedJson(['--workflow', 'suspension']);
    expect(new Set(suspensions.map((e) => e.workflow))).toEqual(new Set(['suspension']));
    expect(suspensions[0]).toMatchObject({ tenantId: 'building-shop', status: 'SUCCEEDED' });
    // A tenant's executions: those naming it, and the releases that concerned it (skipped included).
    const mine = await listedJson(['--tenant', 'building-shop']);
    expect(new Set(mine.map((e) => e.tenantId))).toEqual(new Set(['building-shop']));
    expect(mine.map((e) => e.workflow)).toEqual(
      expect.arrayContaining(['onboarding', 'release', 'suspension']),
    );
    expect(mine.map((e) => e.executionArn)).toContain(releaseArn);
    const onlyTwo = await listedJson(['--limit', '2']);
    expect(onlyTwo).toHaveLength(2);
    const refused = await tenantctl(['executions', '--tenant', 'Not_A_Tenant', '--state-dir', stateDir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^tenantctl: --tenant: /);

    // The console's page of the tenant lists the release too.
    const page = await gatewayRequest(running!.endpoints.gateway, 'localhost', '/api/tenants/building-shop');
    const { executions: shown } = JSON.parse(page.body) as { executions: { executionArn: string }[] };
    expect(shown.map((e) => e.executionArn)).toContain(releaseArn);

    expect((await tenantctl(['resume', 'building-shop', '--state-dir', stateDir])).code).toBe(0);
  }, 240_000);
});
