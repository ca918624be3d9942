import { Client, Pool, type PoolClient } from 'pg';
import { TaskEnv } from '../../common/names';
import { getJsonSecret } from '../../common/secrets';
import { awsFor, awsIn } from './aws';
import { requiredEnv } from '../../common/env';
import { logger } from './logger';
import { processScope } from './process-scope';

/** Where and as whom to connect. The password never leaves this shape: not logged, not returned. */
export interface DbCredentials {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

interface SecretShape {
  username?: unknown;
  password?: unknown;
}

/**
 * A Secrets Manager secret whose value is a JSON object, read in the account its ARN names (a cell's, or
 * the platform's); one given by name is read in `account` (undefined: the platform's).
 */
export function readJsonSecret<T>(secretId: string, account?: string): Promise<T> {
  return getJsonSecret<T>((account ? awsIn(account) : awsFor(secretId)).secrets, secretId);
}

/** Reads `{ username, password }` from a Secrets Manager secret (the shape RDS-managed secrets have). */
export async function readCredentialsSecret(secretId: string): Promise<{ user: string; password: string }> {
  const parsed = await readJsonSecret<SecretShape>(secretId);
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    throw new Error(`Secret ${secretId} has no username/password`);
  }
  return { user: parsed.username, password: parsed.password };
}

/** A PostgreSQL server, and the secret holding its master user's credentials. */
export interface MasterServer {
  readonly host: string;
  readonly port: number;
  readonly masterSecretArn: string;
}

/** The shared instance the platform was deployed with (its registry lives there too). */
export function sharedServer(): MasterServer {
  return {
    host: sharedDbHost(),
    port: sharedDbPort(),
    masterSecretArn: requiredEnv(TaskEnv.masterSecretArn),
  };
}

/** Master credentials by process scope and secret, each read once (processScope). */
const master = new Map<string, Promise<{ user: string; password: string }>>();

/** `server`'s master credentials for `database`, read once per process. */
export async function masterCredentials(
  database: string,
  server: MasterServer = sharedServer(),
): Promise<DbCredentials> {
  const key = `${processScope()}\n${server.masterSecretArn}`;
  let read = master.get(key);
  if (!read) {
    read = readCredentialsSecret(server.masterSecretArn);
    master.set(key, read);
    read.catch(() => master.get(key) === read && master.delete(key));
  }
  const { user, password } = await read;
  return { host: server.host, port: server.port, user, password, database };
}

export function sharedDbHost(): string {
  return requiredEnv(TaskEnv.sharedDbHost);
}

export function sharedDbPort(): number {
  return Number(requiredEnv(TaskEnv.sharedDbPort));
}

const pools = new Map<string, Pool>();

/** SQLSTATE of a refused password: on AWS, RDS has rotated the master secret since it was read. */
const INVALID_PASSWORD = '28P01';

/**
 * Runs `fn` on a pooled master connection to `database` on `server` (the shared instance unless named; one
 * small pool per server and database per process). When the password is refused, the secret is read again
 * once: RDS rotates the master password it manages.
 */
export async function withMasterClient<T>(
  database: string,
  fn: (client: PoolClient) => Promise<T>,
  server: MasterServer = sharedServer(),
): Promise<T> {
  const client = await connectMaster(database, server).catch(async (error: unknown) => {
    if ((error as { code?: string }).code !== INVALID_PASSWORD) throw error;
    logger.info('master password refused: reading the secret again', { database });
    master.delete(`${processScope()}\n${server.masterSecretArn}`);
    const key = poolKey(database, server);
    const stale = pools.get(key);
    pools.delete(key);
    await stale?.end().catch(() => undefined);
    return connectMaster(database, server);
  });
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

function poolKey(database: string, server: MasterServer): string {
  return `${server.host}:${server.port}/${database}`;
}

async function connectMaster(database: string, server: MasterServer): Promise<PoolClient> {
  // Read (once per process) even when a pool exists: locally the pools are shared by every task.
  const creds = await masterCredentials(database, server);
  const key = poolKey(database, server);
  let pool = pools.get(key);
  if (!pool) {
    pool = new Pool({ ...creds, max: 4, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 10_000 });
    pool.on('error', (error) =>
      logger.warn('idle database connection failed', { database, error: error.message }),
    );
    pools.set(key, pool);
  }
  return pool.connect();
}

/** Runs `fn` on a one-off connection (used for tenant databases, which a step touches once). */
export async function withClient<T>(creds: DbCredentials, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ ...creds, connectionTimeoutMillis: 10_000 });
  client.on('error', (error) =>
    logger.warn('database connection failed', { database: creds.database, error: error.message }),
  );
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Closes every pool this process opened (the local runtime calls it on shutdown). */
export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  master.clear();
  await Promise.all(all.map((pool) => pool.end()));
}
