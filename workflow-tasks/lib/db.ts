import { Client, Pool, type PoolClient } from 'pg';
import { TaskEnv } from '../../common/names';
import { getJsonSecret } from '../../common/secrets';
import { aws } from './aws';
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

/** A Secrets Manager secret whose value is a JSON object. */
export function readJsonSecret<T>(secretId: string): Promise<T> {
  return getJsonSecret<T>(aws().secrets, secretId);
}

/** Reads `{ username, password }` from a Secrets Manager secret (the shape RDS-managed secrets have). */
export async function readCredentialsSecret(secretId: string): Promise<{ user: string; password: string }> {
  const parsed = await readJsonSecret<SecretShape>(secretId);
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    throw new Error(`Secret ${secretId} has no username/password`);
  }
  return { user: parsed.username, password: parsed.password };
}

/** The master credentials, read once per process (processScope). */
const master = new Map<string, Promise<{ user: string; password: string }>>();

/** The shared instance's master credentials for `database`, read once per process. */
export async function masterCredentials(database: string): Promise<DbCredentials> {
  const scope = processScope();
  let read = master.get(scope);
  if (!read) {
    read = readCredentialsSecret(requiredEnv(TaskEnv.masterSecretArn));
    master.set(scope, read);
    read.catch(() => master.get(scope) === read && master.delete(scope));
  }
  const { user, password } = await read;
  return { host: sharedDbHost(), port: sharedDbPort(), user, password, database };
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
 * Runs `fn` on a pooled master connection to `database` (one small pool per database per process). When the
 * password is refused, the secret is read again once: RDS rotates the master password it manages.
 */
export async function withMasterClient<T>(
  database: string,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await connectMaster(database).catch(async (error: unknown) => {
    if ((error as { code?: string }).code !== INVALID_PASSWORD) throw error;
    logger.info('master password refused: reading the secret again', { database });
    master.delete(processScope());
    const stale = pools.get(database);
    pools.delete(database);
    await stale?.end().catch(() => undefined);
    return connectMaster(database);
  });
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

async function connectMaster(database: string): Promise<PoolClient> {
  // Read (once per process) even when a pool exists: locally the pools are shared by every task.
  const creds = await masterCredentials(database);
  let pool = pools.get(database);
  if (!pool) {
    pool = new Pool({ ...creds, max: 4, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 10_000 });
    pool.on('error', (error) =>
      logger.warn('idle database connection failed', { database, error: error.message }),
    );
    pools.set(database, pool);
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
