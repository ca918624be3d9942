import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayGet } from '../../cli/describe';
import { waitFor } from '../../local/ports';
import type { Endpoints } from '../../local/services';

const REPO = join(__dirname, '..', '..');
const BIN = join(REPO, 'bin', 'tenantctl.js');

let stateDir: string;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'tenantctl-up-'));
  await chmod(stateDir, 0o755);
});

afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

interface Up {
  readonly process: ChildProcess;
  readonly endpoints: Endpoints;
}

/** `tenantctl up` as a user runs it, in its own process; resolves once endpoints.json is written. */
async function up(): Promise<Up> {
  const child = spawn(process.execPath, [BIN, 'up', '--state-dir', stateDir, '--port', '0'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const file = join(stateDir, 'endpoints.json');
  await waitFor(
    'endpoints.json',
    () => {
      if (child.exitCode !== null) throw new Error(`tenantctl up exited: ${output}`);
      return Promise.resolve(existsSync(file));
    },
    90_000,
  );
  return { process: child, endpoints: JSON.parse(await readFile(file, 'utf8')) as Endpoints };
}

function tenantctl(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--state-dir', stateDir], { cwd: REPO }, (error, stdout) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
    );
  });
}

function descendants(pid: number): number[] {
  try {
    const children = execFileSync('pgrep', ['-P', String(pid)])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
    return children.flatMap((child) => [child, ...descendants(child)]);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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

async function stop(running: Up): Promise<void> {
  const exited = new Promise<number | null>((resolve) => running.process.once('exit', resolve));
  running.process.kill('SIGTERM');
  expect(await exited).toBe(0);
}

describe('tenantctl up', () => {
  it('writes endpoints.json with exactly the documented keys', async () => {
    const running = await up();
    try {
      expect(Object.keys(running.endpoints).sort()).toEqual(
        [
          'aws',
          'eventBusName',
          'events',
          'gateway',
          'postgres',
          'region',
          'siteBucket',
          'stateMachineArn',
          'stepFunctions',
        ].sort(),
      );
      const onboarded = await tenantctl([
        'onboard',
        join(REPO, 'examples', 'tenants', 'bookstore.json'),
        '--json',
      ]);
      expect(onboarded.code).toBe(0);
      expect(JSON.parse(onboarded.stdout)).toMatchObject({
        status: 'SUCCEEDED',
        executionArn: `${running.endpoints.stateMachineArn.replace(':stateMachine:', ':execution:')}:onboard-bookstore`,
      });
    } finally {
      await stop(running);
    }
  });

  it('stops on SIGTERM leaving no child process and no open port, and restarts with its tenants and executions', async () => {
    const first = await up();
    const children = descendants(first.process.pid!);
    expect(children.length).toBeGreaterThanOrEqual(2); // at least PostgreSQL and moto_server
    const urls = [
      first.endpoints.stepFunctions,
      first.endpoints.gateway,
      first.endpoints.aws,
      first.endpoints.postgres,
    ];
    await stop(first);

    expect(children.filter(alive)).toEqual([]);
    expect(await Promise.all(urls.map(portOpen))).toEqual([false, false, false, false]);
    expect(existsSync(join(stateDir, 'endpoints.json'))).toBe(false);

    const second = await up();
    try {
      const tenants = await tenantctl(['tenants', '--json']);
      expect(JSON.parse(tenants.stdout)).toEqual([
        expect.objectContaining({ tenantId: 'bookstore', status: 'ACTIVE', tier: 'shared', domain: null }),
      ]);
      const executions = await tenantctl(['executions', '--json']);
      expect(
        (JSON.parse(executions.stdout) as { name: string; status: string }[]).map((e) => [e.name, e.status]),
      ).toEqual([['onboard-bookstore', 'SUCCEEDED']]);
      const health = await gatewayGet(second.endpoints.gateway, 'api.bookstore.localhost', '/health');
      expect(JSON.parse(health.body)).toEqual({ tenantId: 'bookstore', database: 'ok', schemaVersion: 1 });
    } finally {
      await stop(second);
    }
  });
});
