import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { awsCli, stop, tenantctl, up, type Up } from '../fixtures/processes';
import { makeStateDir } from '../fixtures/state-dir';
import { tenantApiRequest } from '../fixtures/tenant-api';

// A tenant's whole life as a user lives it with tenantctl: a returning customer, data brought back by
// restore and only by restore, every attempt its own execution.
const TENANT = 'quarry';

let stateDir: string;
let running: Up | undefined;
let inputFile: string;

beforeAll(async () => {
  stateDir = await makeStateDir('lifecycle-cli');
  inputFile = join(stateDir, `${TENANT}.json`);
  await writeFile(
    inputFile,
    JSON.stringify({ tenantId: TENANT, companyName: 'Quarry Ltd', adminEmail: 'owner@quarry.example' }),
  );
  running = await up(stateDir, {}, { args: ['--gateway-port', '0'] });
}, 120_000);

afterAll(async () => {
  if (running) await stop(running);
  await rm(stateDir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<string> {
  const result = await tenantctl([...args, '--state-dir', stateDir], { timeoutMs: 120_000 });
  expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
  return result.stdout;
}

async function registryRow(): Promise<Record<string, unknown> | undefined> {
  const rows = JSON.parse(await run('tenants', '--json')) as Record<string, unknown>[];
  return rows.find((t) => t.tenantId === TENANT);
}

async function api(
  path: string,
  options: { method?: string; token?: string; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const r = await tenantApiRequest(running!.endpoints.gateway, `api.${TENANT}.localhost`, path, {
    method: options.method,
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  return { status: r.status, body: r.body ? (JSON.parse(r.body) as unknown) : undefined };
}

async function signIn(credentials: { email: string; password: string }): Promise<string> {
  const login = await api('/auth/login', { method: 'POST', body: credentials });
  expect(login.status).toBe(200);
  return (login.body as { token: string }).token;
}

async function skus(token: string): Promise<string[]> {
  const listed = await api('/products', { token });
  expect(listed.status).toBe(200);
  return (listed.body as { items: { sku: string }[] }).items.map((p) => p.sku);
}

/** The names of every execution of a state machine of the platform, oldest first. */
async function executionNames(stateMachineArn: string): Promise<string[]> {
  const listed = (await awsCli(running!.endpoints.aws, [
    'stepfunctions',
    'list-executions',
    '--state-machine-arn',
    stateMachineArn,
  ])) as { executions: { name: string }[] };
  return listed.executions.map((e) => e.name).reverse();
}

describe('a tenant id living several lives through tenantctl', () => {
  it('onboard, offboard, restore twice, offboard, onboard again: each works, data comes back only by restore', async () => {
    await run('onboard', inputFile);
    // A restart of the platform changes no recorded time.
    const before = await registryRow();
    expect(await stop(running!)).toBe(0);
    running = await up(stateDir, {}, { args: ['--gateway-port', '0'] });
    const after = await registryRow();
    expect(after?.versionsUpdatedAt).toBe(before?.versionsUpdatedAt);
    expect(after?.versionsUpdatedAt).toEqual(expect.any(String));

    const first = JSON.parse(await run('admin-credentials', TENANT, '--json')) as {
      email: string;
      password: string;
    };
    const created = await api('/products', {
      method: 'POST',
      token: await signIn(first),
      body: { sku: 'granite-1', name: 'Granite block', priceCents: 12_000, stock: 3 },
    });
    expect(created.status).toBe(201);

    for (let life = 1; life <= 2; life++) {
      expect(await run('offboard', TENANT)).toContain(`${TENANT}: SUCCEEDED`);
      expect((await registryRow())?.status).toBe('OFFBOARDED');
      expect(await run('restore', TENANT)).toContain(`${TENANT}: SUCCEEDED`);
      expect((await registryRow())?.status).toBe('ACTIVE');
      // The restored users keep their own passwords: the first life's still signs in, and the row is back;
      // admin-credentials prints no password that would not work.
      expect(await skus(await signIn(first))).toEqual(['granite-1']);
      expect(JSON.parse(await run('admin-credentials', TENANT, '--json'))).toEqual({
        email: first.email,
        password: null,
        restoredFrom: expect.stringMatching(new RegExp(`^exports/${TENANT}/`)) as string,
      });
    }

    expect(await run('offboard', TENANT)).toContain(`${TENANT}: SUCCEEDED`);
    // A returning customer who signs up again starts empty: a signup never brings back old data.
    expect(await run('onboard', inputFile)).toContain(`${TENANT}: SUCCEEDED`);
    const fresh = await registryRow();
    expect(fresh).toMatchObject({ status: 'ACTIVE', offboarding: null, lastRelease: null });
    const second = JSON.parse(await run('admin-credentials', TENANT, '--json')) as {
      email: string;
      password: string;
    };
    expect(await skus(await signIn(second))).toEqual([]);
    expect(await run('offboard', TENANT)).toContain(`${TENANT}: SUCCEEDED`);
    expect((await registryRow())?.status).toBe('OFFBOARDED');

    // Every attempt is its own execution, named for what it did.
    const { stateMachineArn, offboardingStateMachineArn } = running.endpoints;
    expect(await executionNames(stateMachineArn)).toEqual([
      `onboard-${TENANT}`,
      `restore-${TENANT}`,
      `restore-${TENANT}-2`,
      `onboard-${TENANT}-2`,
    ]);
    expect(await executionNames(offboardingStateMachineArn)).toEqual([
      `offboard-${TENANT}`,
      `offboard-${TENANT}-2`,
      `offboard-${TENANT}-3`,
      `offboard-${TENANT}-4`,
    ]);

    // Each offboarding kept its own export; restore takes the latest unless --export picks another.
    const exports = JSON.parse(await run('exports', TENANT, '--json')) as {
      key: string;
      latest: boolean;
      rows: Record<string, number>;
    }[];
    expect(exports.map((e) => [e.rows.products, e.latest])).toEqual([
      [1, false],
      [1, false],
      [1, false],
      [0, true],
    ]);
    const refused = await tenantctl([
      'restore',
      TENANT,
      '--export',
      'exports/other/x.gz',
      '--state-dir',
      stateDir,
    ]);
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({
      code: 2,
      stderr: expect.stringContaining(`--export: must be one of ${TENANT}'s export keys`) as string,
    });
    expect(await run('restore', TENANT, '--export', exports[0]!.key)).toContain(`${TENANT}: SUCCEEDED`);
    expect(await skus(await signIn(first))).toEqual(['granite-1']);
  }, 600_000);
});
