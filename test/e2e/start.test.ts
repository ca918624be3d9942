import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { tmpdir, userInfo } from 'node:os';
import { freePort, waitFor } from '../../local/processes/ports';
import { OUTSIDE_ROOT, SERVER_FILES_LINK } from '../../local/rds/server-files';
import {
  alive,
  awsCli,
  descendants,
  markedProcesses,
  processesWhere,
  REPO,
  stop,
  tenantctl,
  up,
} from '../fixtures/processes';
import { makeStateDir } from '../fixtures/state-dir';
import { tenantApiRequest } from '../fixtures/tenant-api';

const EXAMPLES = readdirSync(join(REPO, 'examples', 'tenants'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/\.json$/, ''));

/**
 * A copy of the project in a fresh mode-700 directory, as a checkout under `/root` is: the `postgres` user,
 * which runs the embedded server as root, can enter neither the copy nor its `node_modules`. The copy's
 * `node_modules` is a symlink to this checkout's; every path the platform uses still goes through the
 * mode-700 directory.
 */
async function privateCheckout(): Promise<{ root: string; project: string }> {
  const root = await mkdtemp(join(tmpdir(), 'tenantctl-private-'));
  expect(statSync(root).mode & 0o777).toBe(0o700);
  const project = join(root, 'checkout');
  await mkdir(project);
  for (const entry of readdirSync(REPO)) {
    // What a checkout holds: not its dependencies, history, local state or build output.
    if (['node_modules', '.git', '.tenantctl', 'cdk.out', 'coverage'].includes(entry)) continue;
    await cp(join(REPO, entry), join(project, entry), { recursive: true });
  }
  await symlink(join(REPO, 'node_modules'), join(project, 'node_modules'));
  return { root, project };
}

describe('tenantctl up in a checkout only its owner can enter', () => {
  let checkout: { root: string; project: string };
  let outside: string | undefined;

  beforeAll(async () => {
    checkout = await privateCheckout();
  });

  afterAll(async () => {
    if (outside) await rm(outside, { recursive: true, force: true });
    await rm(checkout.root, { recursive: true, force: true });
  });

  it('brings the platform up with the example tenants, keeps its state across a restart, and widens no permission', async () => {
    const stateDir = join(checkout.project, '.tenantctl');
    const first = await up(stateDir, {}, { cwd: checkout.project, args: ['--demo'] });
    try {
      await waitFor(
        'the demo onboardings',
        () => Promise.resolve(/Press Ctrl-C/.test(first.output())),
        120_000,
      );
      for (const tenantId of EXAMPLES) expect(first.output()).toContain(`${tenantId}: SUCCEEDED`);
      // As root, the server's files live where the postgres user can reach them, linked from the state
      // directory, and up says where; as anyone else they stay in the state directory.
      const asRoot = userInfo().uid === 0;
      outside = await readlink(join(stateDir, SERVER_FILES_LINK)).catch(() => undefined);
      expect(outside !== undefined).toBe(asRoot);
      expect(outside ? dirname(outside) : OUTSIDE_ROOT).toBe(OUTSIDE_ROOT);
      expect(first.output().includes(`PostgreSQL data kept in ${outside}`)).toBe(asRoot);
      expect(existsSync(join(outside ?? stateDir, 'postgres', 'PG_VERSION'))).toBe(true);
      const health = await tenantApiRequest(
        first.endpoints.gateway,
        `api.${EXAMPLES[0]}.localhost`,
        '/health',
      );
      expect(health.status).toBe(200);
    } finally {
      expect(await stop(first)).toBe(0);
    }
    expect(statSync(checkout.root).mode & 0o777).toBe(0o700);

    const second = await up(stateDir, {}, { cwd: checkout.project });
    try {
      const children = descendants(second.process.pid!);
      const tenants = await tenantctl(['tenants', '--json'], { cwd: checkout.project });
      expect(tenants.code).toBe(0);
      expect(
        (JSON.parse(tenants.stdout) as { tenantId: string; status: string }[])
          .map((t) => [t.tenantId, t.status])
          .sort(),
      ).toEqual(EXAMPLES.map((id) => [id, 'ACTIVE']).sort());
      expect(await stop(second)).toBe(0);
      expect(children.filter(alive)).toEqual([]);
    } finally {
      if (second.process.exitCode === null) await stop(second);
    }
  });
});

describe('AWS_ENDPOINT_URL naming the platform itself', () => {
  it('is how users reach it, not an emulator: the platform starts its own and answers there', async () => {
    const stateDir = await makeStateDir('self');
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      // `export AWS_ENDPOINT_URL=...` for the aws CLI, then `tenantctl up` in the same shell.
      const running = await up(stateDir, { AWS_ENDPOINT_URL: endpoint }, { args: ['--port', String(port)] });
      try {
        expect(running.endpoints.aws).toBe(endpoint);
        const { stateMachines } = (await awsCli(endpoint, ['stepfunctions', 'list-state-machines'])) as {
          stateMachines: { name: string }[];
        };
        expect(stateMachines.map((m) => m.name)).toEqual([
          'tenant-onboarding',
          'tenant-release',
          'tenant-suspension',
          'tenant-offboarding',
          'tenant-cleanup',
          'tenant-domain',
          'tenant-capacity',
          'tenant-move',
        ]);
      } finally {
        expect(await stop(running)).toBe(0);
      }
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

describe('a start that cannot finish', () => {
  let stateDir: string;
  let mark: string;
  let taken: Server;
  let takenPort: number;

  beforeAll(async () => {
    stateDir = await makeStateDir('start');
    taken = createServer();
    takenPort = await new Promise<number>((resolve) =>
      taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)),
    );
  });

  afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve));
    await rm(stateDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    mark = randomUUID();
  });

  /** `tenantctl up` with this test's mark, expected to fail: its exit code and what it printed. */
  async function failedUp(args: string[], env: Record<string, string> = {}) {
    const result = await tenantctl(['up', '--state-dir', stateDir, ...args], {
      env: { TENANTCTL_TEST_MARK: mark, ...env },
      timeoutMs: 60_000,
    });
    expect(result.signal).toBeNull(); // it ended by itself
    expect(result.code).not.toBe(0);
    expect(
      result.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('tenantctl:')),
    ).toHaveLength(1);
    expect(markedProcesses(mark)).toEqual([]);
    return result;
  }

  it('a process that dies of an uncaught exception leaves no server behind', async () => {
    const dir = await makeStateDir('crash-exit');
    try {
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['-r', 'tsx/cjs', join(REPO, 'test', 'fixtures', 'crash-after-start.ts'), dir],
          { cwd: REPO, env: { ...process.env, TENANTCTL_TEST_MARK: mark }, timeout: 120_000 },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
      expect(result.stdout).toBe('started\n');
      expect(result.stderr).toContain('crash on purpose');
      expect(result.code).not.toBe(0);
      // PostgreSQL and moto_server got their shutdown signal as the process exited: give them a moment.
      await waitFor('its servers to stop', () => Promise.resolve(markedProcesses(mark).length === 0), 20_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('names the taken port and the flag that changes it', async () => {
    const api = await failedUp(['--port', String(takenPort)]);
    expect(api.stderr).toContain(`port ${takenPort} on 127.0.0.1`);
    expect(api.stderr).toContain('--port <port>');

    const gateway = await failedUp(['--port', '0', '--gateway-port', String(takenPort)]);
    expect(gateway.stderr).toContain(`port ${takenPort} on 127.0.0.1 (the tenant gateway)`);
    expect(gateway.stderr).toContain('--gateway-port <port>');
  });

  it('says how to install the emulator when moto_server is missing, and stops the PostgreSQL it had started', async () => {
    const path = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((dir) => dir && !existsSync(join(dir, 'moto_server')))
      .join(delimiter);
    const result = await failedUp(['--port', '0'], { PATH: path });
    expect(result.stderr).toContain('pip install "moto[server]"');
    expect(result.stderr).toContain('AWS_ENDPOINT_URL');
  });

  it('names DATABASE_URL when its server does not answer, without its password', async () => {
    const closed = await freePort();
    const result = await failedUp(['--port', '0'], {
      DATABASE_URL: `postgres://admin:s3cret-pw@127.0.0.1:${closed}/platform`,
    });
    expect(result.stderr).toContain(
      `DATABASE_URL (postgres://admin@127.0.0.1:${closed}/platform): cannot connect`,
    );
    expect(result.stderr).toContain('unset it to use the embedded PostgreSQL');
    expect(result.stdout + result.stderr).not.toContain('s3cret-pw');

    const notUrl = await failedUp(['--port', '0'], { DATABASE_URL: 'localhost:5432' });
    expect(notUrl.stderr).toContain('DATABASE_URL must start with postgres://');
  });

  it('names AWS_ENDPOINT_URL when nothing answers there', async () => {
    const closed = await freePort();
    const result = await failedUp(['--port', '0'], { AWS_ENDPOINT_URL: `http://127.0.0.1:${closed}` });
    expect(result.stderr).toContain(`AWS_ENDPOINT_URL=http://127.0.0.1:${closed}: nothing answers there`);
  });

  it('refuses cells in AWS accounts of their own on an emulator it does not start, before starting anything', async () => {
    // Named, or by default (each cell but the first an account of its own).
    for (const [name, settings] of [
      ['cell-accounts.json', { cells: 2, cellAccounts: { 'cell-2': '210987654321' } }],
      ['cells.json', { cells: 2 }],
    ] as const) {
      const quotas = join(stateDir, name);
      await writeFile(quotas, JSON.stringify(settings));
      const closed = await freePort();
      const result = await failedUp(['--port', '0', '--quotas', quotas], {
        AWS_ENDPOINT_URL: `http://127.0.0.1:${closed}`,
      });
      expect(result.stderr).toContain(
        `quotas: cellAccounts (cell-2) needs the emulator the platform starts (moto_server), whose accounts the local ` +
          `cells are; AWS_ENDPOINT_URL=http://127.0.0.1:${closed} names another emulator. Unset AWS_ENDPOINT_URL, ` +
          'or keep every cell in one account: "cellAccounts": {}.',
      );
    }
  });

  it('names TENANTCTL_MAX_ONBOARDINGS when it is not a positive integer', async () => {
    const result = await failedUp(['--port', '0'], { TENANTCTL_MAX_ONBOARDINGS: 'lots' });
    expect(result.stderr).toContain('TENANTCTL_MAX_ONBOARDINGS must be a positive integer');
    expect(result.stderr).toContain('got "lots"');
  });

  it('names the --faults file and what is wrong in it', async () => {
    const file = join(stateDir, 'faults.json');
    await writeFile(
      file,
      JSON.stringify([{ tenantId: 'a-shop', step: 'create-database', kind: 'sometimes' }]),
    );
    const bad = await failedUp(['--port', '0', '--faults', file]);
    expect(bad.stderr).toContain(`--faults ${file}: faults[0].kind: must be`);

    const missing = await failedUp(['--port', '0', '--faults', join(stateDir, 'nope.json')]);
    expect(missing.stderr).toContain('nope.json: cannot read it (ENOENT)');
  });

  it('stops everything it had started when interrupted with Ctrl-C during start-up', async () => {
    const child = spawn(
      process.execPath,
      [join(REPO, 'bin', 'tenantctl.js'), 'up', '--state-dir', stateDir, '--port', '0'],
      {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, TENANTCTL_TEST_MARK: mark },
      },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      // Interrupted once it has started a server of its own (PostgreSQL or moto_server).
      const servers = () =>
        processesWhere('cmdline', (args) => /bin\/postgres -D|moto_server/.test(args.join(' ')));
      await waitFor(
        'a server started by tenantctl up',
        () => Promise.resolve(servers().some((pid) => markedProcesses(mark).includes(pid))),
        60_000,
      );
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain('interrupted while starting; everything it had started is stopped');
      expect(markedProcesses(mark)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('leaves no process when a test fixture cannot bring the platform up', async () => {
    const closed = await freePort();
    await expect(
      up(stateDir, { TENANTCTL_TEST_MARK: mark, AWS_ENDPOINT_URL: `http://127.0.0.1:${closed}` }),
    ).rejects.toThrow(/AWS_ENDPOINT_URL/);
    expect(markedProcesses(mark)).toEqual([]);
  });
});
