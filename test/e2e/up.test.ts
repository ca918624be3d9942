import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { alive, descendants, REPO, stop, tenantctl, up } from '../fixtures/processes';
import { makeStateDir } from '../fixtures/state-dir';
import { tenantApiRequest } from '../fixtures/tenant-api';

let stateDir: string;

beforeAll(async () => {
  stateDir = await makeStateDir('up');
});

afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url.replace(/^postgres:/, 'http:'));
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `tenantctl admin-credentials --json`, then POST /auth/login through the gateway: the bearer token. */
async function signIn(gateway: string, tenantId: string): Promise<string> {
  const printed = await tenantctl(['admin-credentials', tenantId, '--json', '--state-dir', stateDir]);
  expect([printed.code, printed.stderr]).toEqual([0, '']);
  const credentials = JSON.parse(printed.stdout) as { email: string; password: string };
  expect(Object.keys(credentials).sort()).toEqual(['email', 'password']);
  expect(credentials.email).toBe('books@cornerbookstore.example');
  const login = await tenantApiRequest(gateway, `api.${tenantId}.localhost`, '/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
  });
  expect(login.status).toBe(200);
  const answer = JSON.parse(login.body) as { token: string; expiresAt: string };
  expect(Object.keys(answer).sort()).toEqual(['expiresAt', 'token']);
  return answer.token;
}

describe('tenantctl up', () => {
  it('refuses a quotas file naming the bad field, before anything starts', async () => {
    const dir = await makeStateDir('up-quotas');
    try {
      const quotas = join(dir, 'quotas.json');
      const cases = [
        {
          given: { tenantsPerSharedInstance: 0, tenantsPerCell: 10 },
          says: `--quotas ${quotas}: tenantsPerSharedInstance must be an integer of at least 1, got 0`,
        },
        {
          given: { tenantsPerShardInstance: 4 },
          says: 'tenantsPerShardInstance is not a limit the platform knows',
        },
      ];
      for (const { given, says } of cases) {
        await writeFile(quotas, JSON.stringify(given));
        const refused = await tenantctl([
          'up',
          '--quotas',
          quotas,
          '--state-dir',
          join(dir, 'state'),
          '--port',
          '0',
        ]);
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toContain(says);
      }
      // Nothing was started: no state directory, no endpoints.
      expect(existsSync(join(dir, 'state'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes endpoints.json with exactly the documented keys', async () => {
    const running = await up(stateDir);
    try {
      expect(Object.keys(running.endpoints).sort()).toEqual(
        [
          'archiveBucket',
          'aws',
          'console',
          'eventBusName',
          'events',
          'gateway',
          'offboardingStateMachineArn',
          'cleanupStateMachineArn',
          'domainStateMachineArn',
          'capacityStateMachineArn',
          'moveStateMachineArn',
          'postgres',
          'region',
          'releaseStateMachineArn',
          'siteBucket',
          'stateMachineArn',
          'stepFunctions',
          'suspensionStateMachineArn',
        ].sort(),
      );
      const onboarded = await tenantctl([
        'onboard',
        join(REPO, 'examples', 'tenants', 'bookstore.json'),
        '--json',
        '--state-dir',
        stateDir,
      ]);
      expect([onboarded.code, onboarded.stderr]).toEqual([0, '']);
      expect(JSON.parse(onboarded.stdout)).toMatchObject({
        status: 'SUCCEEDED',
        executionArn: `${running.endpoints.stateMachineArn.replace(':stateMachine:', ':execution:')}:onboard-bookstore`,
      });
      const token = await signIn(running.endpoints.gateway, 'bookstore');
      const created = await tenantApiRequest(
        running.endpoints.gateway,
        'api.bookstore.localhost',
        '/products',
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sku: 'BOOK-1', name: 'A book', priceCents: 1999, stock: 3 }),
        },
      );
      expect([created.status, JSON.parse(created.body)]).toEqual([
        201,
        { id: 1, sku: 'BOOK-1', name: 'A book', priceCents: 1999, stock: 3 },
      ]);
    } finally {
      expect(await stop(running)).toBe(0);
    }
  });

  it('stops on SIGTERM leaving no child process and no open port, and restarts with its tenants and executions', async () => {
    const first = await up(stateDir);
    const credentials = async () =>
      JSON.parse(
        (await tenantctl(['admin-credentials', 'bookstore', '--json', '--state-dir', stateDir])).stdout,
      ) as unknown;
    const before = await credentials();
    const children = descendants(first.process.pid!);
    expect(children.length).toBeGreaterThanOrEqual(2); // at least PostgreSQL and moto_server
    const urls = [
      first.endpoints.stepFunctions,
      first.endpoints.gateway,
      first.endpoints.aws,
      first.endpoints.postgres,
    ];
    expect(await stop(first)).toBe(0);

    expect(children.filter(alive)).toEqual([]);
    expect(await Promise.all(urls.map(portOpen))).toEqual([false, false, false, false]);
    expect(existsSync(join(stateDir, 'endpoints.json'))).toBe(false);

    const second = await up(stateDir);
    try {
      // The tenant's secret was kept: the admin's initial password printed before still holds.
      expect(await credentials()).toEqual(before);
      const tenants = await tenantctl(['tenants', '--json', '--state-dir', stateDir]);
      expect(JSON.parse(tenants.stdout)).toEqual([
        expect.objectContaining({
          tenantId: 'bookstore',
          status: 'ACTIVE',
          tier: 'shared',
          domain: null,
          codeVersion: expect.stringMatching(/^[0-9a-f]{16}$/) as string,
          schemaVersion: 3,
        }),
      ]);
      const executions = await tenantctl(['executions', '--json', '--state-dir', stateDir]);
      expect(
        (JSON.parse(executions.stdout) as { name: string; status: string }[]).map((e) => [e.name, e.status]),
      ).toEqual([['onboard-bookstore', 'SUCCEEDED']]);
      const health = await tenantApiRequest(second.endpoints.gateway, 'api.bookstore.localhost', '/health');
      expect(JSON.parse(health.body)).toEqual({
        tenantId: 'bookstore',
        database: 'ok',
        schemaVersion: 3,
        suspended: false,
      });
      // The emulator's secrets are re-created on restart; the admin signs in with the password it holds now.
      const token = await signIn(second.endpoints.gateway, 'bookstore');
      const products = await tenantApiRequest(
        second.endpoints.gateway,
        'api.bookstore.localhost',
        '/products',
        {
          headers: { authorization: `Bearer ${token}` },
        },
      );
      expect(JSON.parse(products.body)).toMatchObject({ items: [{ sku: 'BOOK-1' }] });
    } finally {
      expect(await stop(second)).toBe(0);
    }
  });
});
